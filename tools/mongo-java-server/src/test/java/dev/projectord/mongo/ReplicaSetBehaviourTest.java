package dev.projectord.mongo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.mongodb.MongoCommandException;
import com.mongodb.MongoException;
import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.ChangeStreamDocument;

/** What a replica set gives that the embedded server now gives too. */
class ReplicaSetBehaviourTest {

    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Document cursorOf(Document reply) {
        return reply.get("cursor", Document.class);
    }

    @Test
    void everyBatchCarriesAPostBatchResumeTokenEvenWhenEmpty() {
        MongoDatabase db = server.freshDatabase();
        db.createCollection("c");
        Document opened = db.runCommand(new Document("aggregate", "c")
            .append("pipeline", List.of(new Document("$changeStream", new Document())))
            .append("cursor", new Document()));
        Document first = cursorOf(opened);
        assertEquals(List.of(), first.getList("firstBatch", Document.class));
        assertNotNull(first.get("postBatchResumeToken"));
        long id = first.getLong("id");

        Document empty = cursorOf(db.runCommand(new Document("getMore", id).append("collection", "c").append("maxTimeMS", 10)));
        assertEquals(List.of(), empty.getList("nextBatch", Document.class));
        Document idleToken = empty.get("postBatchResumeToken", Document.class);
        assertNotNull(idleToken);

        db.getCollection("other").insertOne(new Document("_id", "elsewhere"));
        Document stillEmpty = cursorOf(db.runCommand(new Document("getMore", id).append("collection", "c").append("maxTimeMS", 10)));
        assertEquals(List.of(), stillEmpty.getList("nextBatch", Document.class));
        Document advanced = stillEmpty.get("postBatchResumeToken", Document.class);
        assertTrue(advanced.getString("_data").compareTo(idleToken.getString("_data")) > 0,
            "an idle stream's token moves with the oplog");

        db.getCollection("c").insertOne(new Document("_id", 1));
        Document withEvent = cursorOf(db.runCommand(new Document("getMore", id).append("collection", "c")));
        List<Document> batch = withEvent.getList("nextBatch", Document.class);
        assertEquals(1, batch.size());
        assertEquals(batch.get(0).get("_id"), withEvent.get("postBatchResumeToken"));

        // Resuming after the idle token gives exactly what came after it.
        try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> resumed = db.getCollection("c").watch()
            .resumeAfter(BsonDocument.parse(advanced.toJson())).cursor()) {
            assertEquals(1, resumed.next().getDocumentKey().getInt32("_id").getValue());
        }
    }

    @Test
    void repliesCarryOperationTimeAndClusterTime() {
        MongoDatabase db = server.freshDatabase();
        Document ping = db.runCommand(new Document("ping", 1));
        assertNotNull(ping.get("operationTime"));
        assertNotNull(ping.get("$clusterTime", Document.class).get("clusterTime"));
        MongoCollection<Document> coll = db.getCollection("c");
        try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = coll.watch().cursor()) {
            stream.tryNext();
            Document insert = db.runCommand(new Document("insert", "c").append("documents", List.of(new Document("_id", 1))));
            BsonTimestamp written = insert.get("operationTime", BsonTimestamp.class);
            assertEquals(written, stream.next().getClusterTime());
            assertTrue(written.compareTo(ping.get("operationTime", BsonTimestamp.class)) > 0);
        }
    }

    @Test
    void helloDescribesAReplicaSetPrimaryWithSessions() {
        Document hello = server.client.getDatabase("admin").runCommand(new Document("hello", 1));
        assertEquals("rs0", hello.getString("setName"));
        assertEquals(Boolean.TRUE, hello.getBoolean("isWritablePrimary"));
        assertEquals(hello.getString("me"), hello.getString("primary"));
        assertEquals(30, hello.getInteger("logicalSessionTimeoutMinutes"));
    }

    @Test
    void resumingBeforeTheKeptHistoryAnswersChangeStreamHistoryLost() {
        try (TestServer small = TestServer.start(ReplicaSetBackend.Settings.defaults().withOplogMaxEntries(20))) {
            MongoCollection<Document> coll = small.freshDatabase().getCollection("c");
            coll.insertOne(new Document("_id", "first"));
            BsonDocument token;
            BsonTimestamp time;
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = coll.watch()
                .startAtOperationTime(new BsonTimestamp(0)).cursor()) {
                ChangeStreamDocument<Document> first = stream.next();
                token = first.getResumeToken();
                time = first.getClusterTime();
            }
            // Within the history: resumes.
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = coll.watch().resumeAfter(token).cursor()) {
                assertNull(stream.tryNext());
            }
            for (int i = 0; i < 30; i++) {
                coll.insertOne(new Document("_id", i));
            }
            MongoCommandException resume = assertThrows(MongoCommandException.class,
                () -> coll.watch().resumeAfter(token).cursor().tryNext());
            assertEquals(286, resume.getErrorCode());
            assertEquals("ChangeStreamHistoryLost", resume.getErrorCodeName());
            MongoCommandException startAt = assertThrows(MongoCommandException.class,
                () -> coll.watch().startAtOperationTime(time).cursor().tryNext());
            assertEquals(286, startAt.getErrorCode());
            assertEquals(20, small.oplog().size());
        }
    }

    @Test
    void anOpenStreamThatFallsBehindTheHistoryFailsWith286() {
        try (TestServer small = TestServer.start(ReplicaSetBackend.Settings.defaults().withOplogMaxEntries(10))) {
            MongoDatabase db = small.freshDatabase();
            db.createCollection("c");
            Document opened = db.runCommand(new Document("aggregate", "c")
                .append("pipeline", List.of(new Document("$changeStream", new Document())))
                .append("cursor", new Document("batchSize", 0)));
            long id = cursorOf(opened).getLong("id");
            for (int i = 0; i < 15; i++) {
                db.getCollection("c").insertOne(new Document("_id", i));
            }
            MongoCommandException lost = assertThrows(MongoCommandException.class,
                () -> db.runCommand(new Document("getMore", id).append("collection", "c")));
            assertEquals(286, lost.getErrorCode());
        }
    }

    @Test
    void aTransactionCommitsItsInsertsWithOneClusterTime() {
        MongoDatabase db = server.freshDatabase();
        MongoCollection<Document> events = db.getCollection("events");
        db.createCollection("events");
        db.createCollection("outbox");
        try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = db.watch().cursor();
             ClientSession session = server.client.startSession()) {
            stream.tryNext();
            session.withTransaction(() -> {
                events.insertOne(session, new Document("_id", "debit"));
                db.getCollection("outbox").insertOne(session, new Document("_id", "message"));
                events.insertOne(session, new Document("_id", "credit"));
                assertEquals(0, events.countDocuments(Filters.eq("_id", "debit")), "not visible before commit");
                return null;
            });
            List<ChangeStreamDocument<Document>> changes = List.of(stream.next(), stream.next(), stream.next());
            assertEquals(List.of("debit", "message", "credit"),
                changes.stream().map(c -> c.getDocumentKey().getString("_id").getValue()).toList());
            assertEquals(changes.get(0).getClusterTime(), changes.get(1).getClusterTime());
            assertEquals(changes.get(0).getClusterTime(), changes.get(2).getClusterTime());
            List<String> tokens = changes.stream().map(c -> c.getResumeToken().getString("_data").getValue()).toList();
            List<String> sorted = new ArrayList<>(tokens);
            sorted.sort(null);
            assertEquals(sorted, tokens);
            assertEquals(3, new java.util.HashSet<>(tokens).size());
        }
        assertEquals(2, events.countDocuments());
    }

    @Test
    void anAbortedTransactionLeavesNothing() {
        MongoDatabase db = server.freshDatabase();
        MongoCollection<Document> coll = db.getCollection("c");
        coll.insertOne(new Document("_id", "taken"));
        try (ClientSession session = server.client.startSession()) {
            session.startTransaction();
            coll.insertOne(session, new Document("_id", "a"));
            session.abortTransaction();
            MongoException duplicate = assertThrows(MongoException.class, () -> session.withTransaction(() -> {
                coll.insertOne(session, new Document("_id", "b"));
                coll.insertOne(session, new Document("_id", "taken"));
                return null;
            }));
            assertEquals(11000, duplicate.getCode());
            MongoException update = assertThrows(MongoException.class, () -> session.withTransaction(() -> {
                coll.updateOne(session, Filters.eq("_id", "taken"), Updates.set("x", 1));
                return null;
            }));
            assertEquals(263, update.getCode());
        }
        assertEquals(1, coll.countDocuments());
    }

    @Test
    void droppingTheWatchedCollectionInvalidatesTheStream() {
        MongoDatabase db = server.freshDatabase();
        MongoCollection<Document> coll = db.getCollection("c");
        coll.insertOne(new Document("_id", 0));
        try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = coll.watch().cursor()) {
            stream.tryNext();
            coll.insertOne(new Document("_id", 1));
            coll.drop();
            assertEquals("insert", stream.next().getOperationTypeString());
            assertEquals("drop", stream.next().getOperationTypeString());
            ChangeStreamDocument<Document> invalidate = stream.next();
            assertEquals("invalidate", invalidate.getOperationTypeString());
            BsonDocument token = invalidate.getResumeToken();
            assertNull(stream.getServerCursor(), "the server closed the stream");

            MongoCommandException resume = assertThrows(MongoCommandException.class,
                () -> coll.watch().resumeAfter(token).cursor().tryNext());
            assertEquals(260, resume.getErrorCode());
            coll.insertOne(new Document("_id", "again"));
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> after = coll.watch().startAfter(token).cursor()) {
                assertEquals("again", after.next().getDocumentKey().getString("_id").getValue());
            }
        }
    }

    @Test
    void renamingTheWatchedCollectionInvalidatesTheStream() {
        MongoDatabase db = server.freshDatabase();
        MongoCollection<Document> coll = db.getCollection("old");
        coll.insertOne(new Document("_id", 0));
        try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = coll.watch().cursor();
             MongoChangeStreamCursor<ChangeStreamDocument<Document>> wide = db.watch().cursor()) {
            stream.tryNext();
            wide.tryNext();
            coll.renameCollection(new com.mongodb.MongoNamespace(db.getName(), "new"));
            ChangeStreamDocument<Document> rename = stream.next();
            assertEquals("rename", rename.getOperationTypeString());
            assertEquals("new", rename.getDestinationNamespace().getCollectionName());
            assertEquals("invalidate", stream.next().getOperationTypeString());
            assertEquals("rename", wide.next().getOperationTypeString());
            db.drop();
            List<String> ends = List.of(wide.next().getOperationTypeString(), wide.next().getOperationTypeString(),
                wide.next().getOperationTypeString());
            assertEquals(List.of("drop", "dropDatabase", "invalidate"), ends);
        }
    }

    @Test
    void getMoreWaitsForDataUpToMaxTime() throws Exception {
        MongoDatabase db = server.freshDatabase();
        db.createCollection("c");
        Document opened = db.runCommand(new Document("aggregate", "c")
            .append("pipeline", List.of(new Document("$changeStream", new Document())))
            .append("cursor", new Document()));
        long id = cursorOf(opened).getLong("id");
        long started = System.nanoTime();
        Document idle = cursorOf(db.runCommand(new Document("getMore", id).append("collection", "c").append("maxTimeMS", 300)));
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started) >= 290, "waited for data");
        assertEquals(List.of(), idle.getList("nextBatch", Document.class));

        Thread writer = new Thread(() -> {
            // Inserted while the getMore below waits (or before it starts: then it answers at once).
            server.client.getDatabase(db.getName()).getCollection("c").insertOne(new Document("_id", "news"));
        });
        writer.start();
        Document news = cursorOf(db.runCommand(new Document("getMore", id).append("collection", "c").append("maxTimeMS", 60_000)));
        writer.join();
        assertEquals(1, news.getList("nextBatch", Document.class).size());
        assertFalse(news.getLong("id") == 0);
    }
}
