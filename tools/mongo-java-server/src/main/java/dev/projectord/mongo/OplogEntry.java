package dev.projectord.mongo;

import java.time.Instant;

import de.bwaldvogel.mongo.bson.Document;

/**
 * One oplog entry. {@code document} is a private copy of the inserted document, the update
 * specification or the replacement; {@code id} the affected document's id; {@code to} the new
 * namespace of a rename.
 */
record OplogEntry(OplogKey key, Instant wallTime, Kind kind, Namespace ns, Object id, Document document,
                  Namespace to) {

    enum Kind {
        INSERT, UPDATE, REPLACE, DELETE, DROP, RENAME, DROP_DATABASE
    }

    /** An entry before it has a place in the oplog. */
    record Pending(Kind kind, Namespace ns, Object id, Document document, Namespace to) {

        static Pending insert(Namespace ns, Document document) {
            return new Pending(Kind.INSERT, ns, document.get("_id"), document.cloneDeeply(), null);
        }

        OplogEntry at(OplogKey key, Instant wallTime) {
            return new OplogEntry(key, wallTime, kind, ns, id, document, to);
        }
    }

    /** A database name and, except for database-wide entries, a collection name. */
    record Namespace(String db, String collection) {

        static Namespace parse(String fullName) {
            int dot = fullName.indexOf('.');
            return dot < 0 ? new Namespace(fullName, null)
                : new Namespace(fullName.substring(0, dot), fullName.substring(dot + 1));
        }

        Document toDocument() {
            Document document = new Document("db", db);
            if (collection != null) {
                document.put("coll", collection);
            }
            return document;
        }

        /** Internal collections whose writes a real server does not report in change streams. */
        boolean isInternal() {
            return db.equals("local") || db.equals("config")
                || (collection != null && collection.startsWith("system."));
        }
    }
}
