package dev.projectord.mongo;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.exception.MongoServerError;

import dev.projectord.mongo.OplogEntry.Namespace;
import dev.projectord.mongo.OplogEntry.Pending;

/**
 * Minimal multi-document transactions, enough for {@code session.withTransaction} around inserts
 * (an event store's command side): the inserts of a transaction are checked against the unique
 * indexes when sent, buffered, and applied at {@code commitTransaction} all at once, with one
 * cluster time and consecutive resume tokens, as a real commit shows them in change streams.
 *
 * <p>Not emulated: reads inside a transaction see committed data only (not the transaction's own
 * inserts, no snapshot isolation); updates, deletes and other writes inside a transaction are
 * refused (OperationNotSupportedInTransaction, 263) rather than half supported. A conflict that
 * appears only at commit (another writer committed the same unique key meanwhile) fails the commit
 * with WriteConflict labelled TransientTransactionError, so {@code withTransaction} retries.
 */
final class Transactions {

    static final int NO_SUCH_TRANSACTION = 251;
    static final int NOT_SUPPORTED_IN_TRANSACTION = 263;
    static final int WRITE_CONFLICT = 112;
    static final String TRANSIENT = "TransientTransactionError";

    /** A real server's transactionLifetimeLimitSeconds default. */
    private static final long LIFETIME_MILLIS = 60_000;

    private static final Set<String> READS = Set.of("find", "aggregate", "count", "distinct", "getmore",
        "killcursors", "listcollections", "listindexes");

    private final ReplicaSetBackend backend;
    private final LongSupplier nowMillis;
    private final Map<Object, Session> sessions = new ConcurrentHashMap<>();

    private enum State { OPEN, COMMITTED, ABORTED }

    private record Insert(IndexedCollection collection, Document document) {
    }

    private static final class Session {
        long txnNumber;
        State state;
        long startedAt;
        final List<Insert> inserts = new ArrayList<>();
    }

    Transactions(ReplicaSetBackend backend, LongSupplier nowMillis) {
        this.backend = backend;
        this.nowMillis = nowMillis;
    }

    /**
     * A command sent inside a transaction ({@code autocommit: false}): the reply, or null when it
     * runs as usual (a read).
     */
    Document statement(Object lsid, Object txnNumber, boolean start, String databaseName, String command,
                       Document query) {
        Object sessionId = sessionId(lsid);
        long number = txnNumber instanceof Number n ? n.longValue() : -1;
        Session session;
        if (start) {
            expireOld();
            session = sessions.computeIfAbsent(sessionId, id -> new Session());
            synchronized (session) {
                session.txnNumber = number;
                session.state = State.OPEN;
                session.startedAt = nowMillis.getAsLong();
                session.inserts.clear();
            }
        } else {
            session = sessions.get(sessionId);
        }
        if (session == null) {
            return noSuchTransaction(number);
        }
        synchronized (session) {
            if (session.txnNumber != number || session.state != State.OPEN) {
                return noSuchTransaction(number);
            }
            String name = command.toLowerCase(java.util.Locale.ROOT);
            if (name.equals("insert")) {
                return buffer(session, databaseName, query);
            }
            if (READS.contains(name)) {
                return null;
            }
            session.state = State.ABORTED;
            return error(NOT_SUPPORTED_IN_TRANSACTION, "OperationNotSupportedInTransaction",
                "the embedded MongoDB supports only inserts (and reads) inside transactions; run '" + command
                    + "' outside the transaction", false);
        }
    }

    @SuppressWarnings("unchecked")
    private Document buffer(Session session, String databaseName, Document query) {
        IndexedCollection collection = backend.indexedDatabase(databaseName)
            .collectionForWrite(query.get("insert").toString());
        List<Document> documents = (List<Document>) query.get("documents");
        for (int i = 0; i < documents.size(); i++) {
            Document document = documents.get(i);
            document.putIfAbsent("_id", new ObjectId());
            try {
                synchronized (collection) {
                    for (Index<Integer> index : collection.getIndexes()) {
                        index.checkAdd(document, collection);
                    }
                }
            } catch (MongoServerError e) {
                session.state = State.ABORTED;
                Document reply = new Document("n", i).append("writeErrors", List.of(IndexedCollection.writeError(i, e)));
                Utils.markOkay(reply);
                return reply;
            }
            session.inserts.add(new Insert(collection, document));
        }
        Document reply = new Document("n", documents.size());
        Utils.markOkay(reply);
        return reply;
    }

    Document commit(Object lsid, Object txnNumber) {
        Session session = sessions.get(sessionId(lsid));
        long number = txnNumber instanceof Number n ? n.longValue() : -1;
        if (session == null) {
            return noSuchTransaction(number);
        }
        synchronized (session) {
            if (session.txnNumber == number && session.state == State.COMMITTED) {
                return ok();
            }
            if (session.txnNumber != number || session.state != State.OPEN) {
                return noSuchTransaction(number);
            }
            try {
                apply(session.inserts);
            } catch (MongoServerError e) {
                session.state = State.ABORTED;
                return error(WRITE_CONFLICT, "WriteConflict", "commit failed: " + e.getMessageWithoutErrorCode()
                    + " (another writer committed first); retry the transaction", true);
            }
            session.state = State.COMMITTED;
            session.inserts.clear();
            return ok();
        }
    }

    Document abort(Object lsid, Object txnNumber) {
        Session session = sessions.get(sessionId(lsid));
        if (session != null) {
            synchronized (session) {
                long number = txnNumber instanceof Number n ? n.longValue() : -1;
                if (session.txnNumber == number && session.state == State.OPEN) {
                    session.state = State.ABORTED;
                    session.inserts.clear();
                }
            }
        }
        return ok();
    }

    /** Locks every collection written (in name order), applies all inserts or none, logs them as one. */
    private void apply(List<Insert> inserts) {
        Set<IndexedCollection> collections = new LinkedHashSet<>();
        inserts.forEach(insert -> collections.add(insert.collection()));
        List<IndexedCollection> ordered = new ArrayList<>(collections);
        ordered.sort(Comparator.comparing(IndexedCollection::getFullName));
        locked(ordered, 0, () -> {
            List<Insert> applied = new ArrayList<>();
            try {
                for (Insert insert : inserts) {
                    insert.collection().addDocument(insert.document());
                    applied.add(insert);
                }
            } catch (MongoServerError e) {
                for (int i = applied.size() - 1; i >= 0; i--) {
                    applied.get(i).collection().removeDocument(applied.get(i).document());
                }
                throw e;
            }
            List<Pending> entries = new ArrayList<>();
            for (Insert insert : inserts) {
                entries.add(Pending.insert(Namespace.parse(insert.collection().getFullName()), insert.document()));
            }
            if (backend.oplog() instanceof OrderedOplog oplog) {
                oplog.append(entries, true);
            }
        });
    }

    private static void locked(List<IndexedCollection> collections, int from, Runnable action) {
        if (from == collections.size()) {
            action.run();
            return;
        }
        synchronized (collections.get(from)) {
            locked(collections, from + 1, action);
        }
    }

    private void expireOld() {
        long now = nowMillis.getAsLong();
        sessions.values().removeIf(session -> {
            synchronized (session) {
                return now - session.startedAt > LIFETIME_MILLIS;
            }
        });
    }

    private static Object sessionId(Object lsid) {
        if (lsid instanceof Document document && document.get("id") != null) {
            return document.get("id");
        }
        throw new MongoServerError(50768, "a transaction needs a session (lsid), got " + lsid);
    }

    private static Document noSuchTransaction(long number) {
        return error(NO_SUCH_TRANSACTION, "NoSuchTransaction",
            "Transaction with txnNumber " + number + " has been aborted or was never started", true);
    }

    private static Document ok() {
        Document reply = new Document();
        Utils.markOkay(reply);
        return reply;
    }

    private static Document error(int code, String codeName, String message, boolean transientError) {
        Document reply = new Document("ok", 0.0).append("errmsg", message).append("code", code)
            .append("codeName", codeName);
        if (transientError) {
            reply.append("errorLabels", List.of(TRANSIENT));
        }
        return reply;
    }
}
