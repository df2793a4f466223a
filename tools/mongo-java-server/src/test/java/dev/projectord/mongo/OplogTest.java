package dev.projectord.mongo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.Test;

import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.IndexOptions;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Projections;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.changestream.ChangeStreamDocument;

/** The ordered oplog: complete, in order, without phantoms, on a monotonic clock. */
class OplogTest {

    private static final int WRITERS = 8;
    private static final int INSERTS_PER_WRITER = 10_000;
    private static final int AGGREGATES = 200;

    /**
     * Eight writers append to shared aggregates with optimistic concurrency (read the newest
     * version, insert the next one, retry on E11000) while one change stream tails the collection.
     * The stream must see each stored insert exactly once, in cluster-time order, each aggregate's
     * versions in order, and nothing for the inserts the unique index refused.
     */
    @Test
    void aTailingStreamSeesEveryInsertOnceInOrder() throws Exception {
        try (TestServer server = TestServer.start()) {
            MongoCollection<Document> events = server.freshDatabase().getCollection("event_store");
            events.createIndex(Indexes.ascending("aggregateId", "version"), new IndexOptions().unique(true));
            int total = WRITERS * INSERTS_PER_WRITER;
            List<ChangeStreamDocument<Document>> seen = new ArrayList<>(total);
            AtomicLong refused = new AtomicLong();
            AtomicBoolean writing = new AtomicBoolean(true);
            ExecutorService pool = Executors.newFixedThreadPool(WRITERS + 1);
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream =
                     events.watch().batchSize(1000).maxAwaitTime(200, TimeUnit.MILLISECONDS).cursor()) {
                stream.tryNext();
                Future<?> reader = pool.submit(() -> {
                    while (seen.size() < total) {
                        ChangeStreamDocument<Document> change = stream.tryNext();
                        if (change != null) {
                            seen.add(change);
                        } else if (!writing.get() && seen.size() < total) {
                            // the writers are done: one more empty answer means nothing is coming
                            if (stream.tryNext() == null) {
                                break;
                            }
                        }
                    }
                });
                List<Future<?>> writers = new ArrayList<>();
                for (int w = 0; w < WRITERS; w++) {
                    writers.add(pool.submit(() -> write(events, refused)));
                }
                for (Future<?> writer : writers) {
                    writer.get(10, TimeUnit.MINUTES);
                }
                writing.set(false);
                reader.get(10, TimeUnit.MINUTES);
            } finally {
                pool.shutdownNow();
            }

            assertEquals(total, events.countDocuments());
            assertEquals(total, seen.size(), "every stored insert once, nothing for the " + refused.get() + " refused");
            assertTrue(refused.get() > 0, "the writers raced (some inserts were refused)");
            Set<Object> ids = new HashSet<>();
            Map<String, Integer> versions = new HashMap<>();
            BsonTimestamp previousTime = null;
            String previousToken = null;
            for (ChangeStreamDocument<Document> change : seen) {
                assertEquals("insert", change.getOperationTypeString());
                assertTrue(ids.add(change.getDocumentKey().get("_id")), "each insert once");
                BsonTimestamp time = change.getClusterTime();
                assertTrue(previousTime == null || time.compareTo(previousTime) > 0, "cluster times increase");
                String token = change.getResumeToken().getString("_data").getValue();
                assertTrue(previousToken == null || token.compareTo(previousToken) > 0, "resume tokens increase");
                previousTime = time;
                previousToken = token;
                Document doc = change.getFullDocument();
                int expected = versions.getOrDefault(doc.getString("aggregateId"), 0) + 1;
                assertEquals(expected, doc.getInteger("version"), "versions of " + doc.getString("aggregateId") + " in order");
                versions.put(doc.getString("aggregateId"), expected);
            }
        }
    }

    private static void write(MongoCollection<Document> events, AtomicLong refused) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int stored = 0;
        while (stored < INSERTS_PER_WRITER) {
            String aggregateId = "agg-" + random.nextInt(AGGREGATES);
            Document newest = events.find(Filters.eq("aggregateId", aggregateId))
                .projection(Projections.include("version")).sort(Sorts.descending("version")).first();
            int version = newest == null ? 1 : newest.getInteger("version") + 1;
            try {
                events.insertOne(new Document("aggregateId", aggregateId).append("version", version));
                stored++;
            } catch (MongoWriteException e) {
                assertEquals(11000, e.getError().getCode());
                refused.incrementAndGet();
            }
        }
    }

    @Test
    void aRefusedInsertProducesNoEvent() {
        try (TestServer server = TestServer.start()) {
            MongoCollection<Document> coll = server.freshDatabase().getCollection("c");
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = coll.watch()
                .maxAwaitTime(50, TimeUnit.MILLISECONDS).cursor()) {
                stream.tryNext();
                coll.insertOne(new Document("_id", 1));
                try {
                    coll.insertOne(new Document("_id", 1).append("phantom", true));
                } catch (MongoWriteException expected) {
                    // refused
                }
                coll.insertOne(new Document("_id", 2));
                List<Object> ids = new ArrayList<>();
                for (ChangeStreamDocument<Document> c; (c = stream.tryNext()) != null; ) {
                    ids.add(c.getDocumentKey().getInt32("_id").getValue());
                    assertTrue(!c.getFullDocument().containsKey("phantom"));
                }
                assertEquals(List.of(1, 2), ids);
            }
        }
    }

    @Test
    void theClusterTimeNeverGoesBackwardsWhenTheWallClockDoes() {
        AtomicLong wall = new AtomicLong(1_000_000_000_000L);
        ClusterClock clock = new ClusterClock(wall::get);
        de.bwaldvogel.mongo.bson.BsonTimestamp first = clock.next();
        wall.addAndGet(-60_000);
        de.bwaldvogel.mongo.bson.BsonTimestamp second = clock.next();
        wall.addAndGet(120_000);
        de.bwaldvogel.mongo.bson.BsonTimestamp third = clock.next();
        assertTrue(second.compareTo(first) > 0);
        assertEquals(first.getTime(), second.getTime());
        assertEquals(first.getInc() + 1, second.getInc());
        assertTrue(third.compareTo(second) > 0);
        assertEquals(1, third.getInc());
    }

    @Test
    void entriesAreOrderedByClusterTimeEvenAfterTheClockSteppedBack() {
        AtomicLong wall = new AtomicLong(2_000_000_000_000L);
        try (TestServer server = TestServer.start(ReplicaSetBackend.Settings.defaults().withWallClock(wall::get))) {
            MongoCollection<Document> coll = server.freshDatabase().getCollection("c");
            coll.insertOne(new Document("_id", 1));
            wall.addAndGet(-3_600_000);
            coll.insertOne(new Document("_id", 2));
            List<OplogKey> keys = server.oplog().keys();
            List<OplogKey> sorted = new ArrayList<>(keys);
            sorted.sort(null);
            assertEquals(sorted, keys);
            assertTrue(keys.get(keys.size() - 1).compareTo(keys.get(keys.size() - 2)) > 0);
        }
    }

    @Test
    void aReadStartsRightAfterItsPosition() {
        try (TestServer server = TestServer.start()) {
            MongoCollection<Document> coll = server.freshDatabase().getCollection("c");
            List<Document> many = new ArrayList<>();
            for (int i = 0; i < 20_000; i++) {
                many.add(new Document("_id", i));
            }
            coll.insertMany(many);
            OrderedOplog oplog = server.oplog();
            OplogKey head = oplog.head();
            coll.insertOne(new Document("_id", "new"));
            assertEquals(1, oplog.after(head).size());
            try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> stream = coll.watch(List.of())
                .resumeAfter(BsonDocument.parse("{_data: '" + new ResumeToken(head, false).toDocument().get("_data") + "'}"))
                .cursor()) {
                assertEquals("new", stream.next().getDocumentKey().getString("_id").getValue());
            }
        }
    }
}
