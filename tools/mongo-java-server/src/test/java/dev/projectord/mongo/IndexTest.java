package dev.projectord.mongo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.bson.Document;
import org.bson.conversions.Bson;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.mongodb.ErrorCategory;
import com.mongodb.ExplainVerbosity;
import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.IndexOptions;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;

/** Secondary and unique indexes over the wire: kept in step with writes, and used by reads. */
class IndexTest {

    private static TestServer server;
    private MongoCollection<Document> coll;

    @BeforeAll
    static void start() {
        server = TestServer.start();
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @BeforeEach
    void collection() {
        coll = server.freshDatabase().getCollection("c");
    }

    private Document explain(Bson filter, Bson sort, int limit) {
        var find = coll.find(filter);
        if (sort != null) {
            find = find.sort(sort);
        }
        if (limit > 0) {
            find = find.limit(limit);
        }
        return find.explain(ExplainVerbosity.EXECUTION_STATS);
    }

    private static long examined(Document explain) {
        return ((Number) explain.get("executionStats", Document.class).get("totalDocsExamined")).longValue();
    }

    private static String stage(Document explain) {
        Document plan = explain.get("queryPlanner", Document.class).get("winningPlan", Document.class);
        while (plan.containsKey("inputStage")) {
            plan = plan.get("inputStage", Document.class);
        }
        return plan.getString("stage") + (plan.containsKey("indexName") ? ":" + plan.getString("indexName") : "");
    }

    private List<Integer> ids(Bson filter) {
        List<Integer> ids = new ArrayList<>();
        coll.find(filter).sort(Sorts.ascending("_id")).forEach(d -> ids.add(d.getInteger("_id")));
        return ids;
    }

    private void insertRange(int from, int to, java.util.function.IntFunction<Document> doc) {
        List<Document> docs = new ArrayList<>();
        for (int i = from; i < to; i++) {
            docs.add(doc.apply(i).append("_id", i));
        }
        coll.insertMany(docs);
    }

    @Test
    void anUpdateMovesADocumentBetweenKeys() {
        coll.createIndex(Indexes.ascending("status"), new IndexOptions().name("status"));
        insertRange(0, 100, i -> new Document("status", i % 2 == 0 ? "open" : "closed"));

        coll.updateOne(Filters.eq("_id", 4), Updates.set("status", "closed"));
        coll.updateMany(Filters.in("_id", 1, 3), Updates.set("status", "archived"));

        assertEquals(List.of(1, 3), ids(Filters.eq("status", "archived")));
        assertEquals(49, coll.countDocuments(Filters.eq("status", "open")));
        assertTrue(ids(Filters.eq("status", "closed")).contains(4));
        assertTrue(!ids(Filters.eq("status", "open")).contains(4));
        Document explain = explain(Filters.eq("status", "archived"), null, 0);
        assertEquals("IXSCAN:status", stage(explain));
        assertEquals(2, examined(explain));
    }

    @Test
    void aDeleteRemovesTheDocumentFromEveryIndex() {
        coll.createIndex(Indexes.compoundIndex(Indexes.ascending("a"), Indexes.descending("b")));
        coll.createIndex(Indexes.ascending("b"));
        insertRange(0, 50, i -> new Document("a", i % 5).append("b", i));

        coll.deleteMany(Filters.eq("a", 2));
        coll.deleteOne(Filters.eq("b", 0));

        assertEquals(List.of(), ids(Filters.eq("a", 2)));
        assertEquals(List.of(), ids(Filters.eq("b", 0)));
        assertEquals(39, coll.countDocuments());
        assertEquals(10, examined(explain(Filters.eq("a", 1), null, 0)));
        coll.insertOne(new Document("_id", 2).append("a", 2).append("b", 2));
        assertEquals(List.of(2), ids(Filters.eq("a", 2)));
    }

    @Test
    void uniqueIndexesRefuseDuplicatesAndStayConsistent() {
        coll.createIndex(Indexes.ascending("aggregateId", "version"), new IndexOptions().unique(true).name("agg_ver"));
        coll.insertOne(new Document("_id", 1).append("aggregateId", "a").append("version", 1));
        coll.insertOne(new Document("_id", 2).append("aggregateId", "a").append("version", 2));

        MongoWriteException insert = assertThrows(MongoWriteException.class,
            () -> coll.insertOne(new Document("_id", 3).append("aggregateId", "a").append("version", 2)));
        assertEquals(ErrorCategory.DUPLICATE_KEY, insert.getError().getCategory());
        MongoWriteException update = assertThrows(MongoWriteException.class,
            () -> coll.updateOne(Filters.eq("_id", 2), Updates.set("version", 1)));
        assertEquals(11000, update.getError().getCode());
        assertThrows(MongoWriteException.class, () -> coll.insertOne(new Document("_id", 1)));

        assertEquals(2, coll.countDocuments());
        assertEquals(2, coll.find(Filters.eq("_id", 2)).first().getInteger("version"));
        assertEquals(List.of(2), ids(Filters.and(Filters.eq("aggregateId", "a"), Filters.eq("version", 2))));
        // A version may move to a free key, and its old key is free again.
        coll.updateOne(Filters.eq("_id", 2), Updates.set("version", 3));
        coll.insertOne(new Document("_id", 4).append("aggregateId", "a").append("version", 2));
        assertEquals(List.of(1, 4, 2), versionsInOrder("a"));
    }

    private List<Integer> versionsInOrder(String aggregateId) {
        List<Integer> ids = new ArrayList<>();
        coll.find(Filters.eq("aggregateId", aggregateId)).sort(Sorts.ascending("version"))
            .forEach(d -> ids.add(d.getInteger("_id")));
        return ids;
    }

    @Test
    void compoundPrefixesServeEqualityRangesAndSorts() {
        coll.createIndex(Indexes.ascending("aggregateId", "version"), new IndexOptions().unique(true).name("agg_ver"));
        for (int a = 0; a < 20; a++) {
            int agg = a;
            insertRange(agg * 100, agg * 100 + 50, i -> new Document("aggregateId", "agg" + agg).append("version", i % 100 + 1));
        }

        Document prefix = explain(Filters.eq("aggregateId", "agg3"), null, 0);
        assertEquals("IXSCAN:agg_ver", stage(prefix));
        assertEquals(50, examined(prefix));

        Bson range = Filters.and(Filters.eq("aggregateId", "agg7"), Filters.gt("version", 45));
        assertEquals(List.of(745, 746, 747, 748, 749), ids(range));
        assertEquals(5, examined(explain(range, null, 0)));

        Bson between = Filters.and(Filters.eq("aggregateId", "agg7"), Filters.gte("version", 10), Filters.lte("version", 12));
        assertEquals(3, examined(explain(between, null, 0)));

        Document newest = explain(Filters.eq("aggregateId", "agg9"), Sorts.descending("version"), 1);
        assertEquals(1, examined(newest));
        assertEquals(949, coll.find(Filters.eq("aggregateId", "agg9")).sort(Sorts.descending("version")).first().getInteger("_id"));

        Document all = explain(new Document(), Sorts.ascending("aggregateId", "version"), 3);
        assertEquals(3, examined(all));
        assertEquals(List.of(0, 1, 2), firstIds(new Document(), Sorts.ascending("aggregateId", "version"), 3));

        Bson in = Filters.and(Filters.in("aggregateId", "agg1", "agg2"), Filters.eq("version", 5));
        assertEquals(List.of(104, 204), ids(in));
        assertEquals(2, examined(explain(in, null, 0)));
    }

    private List<Integer> firstIds(Bson filter, Bson sort, int limit) {
        List<Integer> ids = new ArrayList<>();
        coll.find(filter).sort(sort).limit(limit).forEach(d -> ids.add(d.getInteger("_id")));
        return ids;
    }

    @Test
    void idEqualityWithOtherConditionsIsAPointLookup() {
        insertRange(0, 1000, i -> new Document("version", i % 10));
        Bson guarded = Filters.and(Filters.eq("_id", 500), Filters.lt("version", 3));
        Document explain = explain(guarded, null, 0);
        assertEquals("IXSCAN:_id_", stage(explain));
        assertEquals(1, examined(explain));
        assertEquals(List.of(500), ids(guarded));
        assertEquals(List.of(), ids(Filters.and(Filters.eq("_id", 501), Filters.lt("version", 1))));
        // A guarded upsert that finds its document too old updates it, one that finds it newer refuses.
        coll.updateOne(Filters.and(Filters.eq("_id", 500), Filters.lt("version", 9)), Updates.set("version", 9));
        assertEquals(9, coll.find(Filters.eq("_id", 500)).first().getInteger("version"));
    }

    @Test
    void sortAndLimitWalkTheIndexAndStop() {
        insertRange(0, 5000, i -> new Document("n", i));
        Document newest = explain(new Document(), Sorts.descending("_id"), 1);
        assertEquals(1, examined(newest));
        assertEquals(4999, coll.find().sort(Sorts.descending("_id")).first().getInteger("_id"));
        Document unindexed = explain(new Document(), Sorts.descending("n"), 1);
        assertEquals("COLLSCAN", stage(unindexed));
    }

    @Test
    void eachBranchOfAnOrUsesItsIndexAndTheBranchesMergeInSortOrder() {
        coll.createIndex(Indexes.ascending("status", "dueAt"), new IndexOptions().name("status_due"));
        coll.createIndex(Indexes.ascending("module", "status"), new IndexOptions().name("module_status"));
        insertRange(0, 3000, i -> new Document("module", "m" + i % 4)
            .append("status", i % 500 == 0 ? "pending" : i % 700 == 1 ? "firing" : "done")
            .append("dueAt", 10_000 - i).append("claimedAt", i));
        // The deadline scheduler's claim: the earliest due among pending ones and stale firing ones.
        Bson due = Filters.and(Filters.in("module", "m0", "m1", "m2", "m3"), Filters.or(
            Filters.and(Filters.eq("status", "pending"), Filters.lte("dueAt", 9_000)),
            Filters.and(Filters.eq("status", "firing"), Filters.lte("claimedAt", 2_000))));
        Document explain = explain(due, Sorts.ascending("dueAt"), 1);
        assertEquals("OR", stage(explain));
        assertTrue(examined(explain) < 20, "examined " + examined(explain));
        assertEquals(List.of(2500), firstIds(due, Sorts.ascending("dueAt"), 1));
        assertEquals(List.of(1, 701, 1000, 1401, 1500, 2000, 2500),
            coll.find(due).sort(Sorts.descending("dueAt")).map(d -> d.getInteger("_id")).into(new ArrayList<>()));
        // A branch without an index plan: the whole $or scans.
        Bson unplanned = Filters.or(Filters.eq("status", "pending"), Filters.eq("claimedAt", 7));
        assertEquals("COLLSCAN", stage(explain(unplanned, null, 0)));
        assertEquals(7, coll.countDocuments(unplanned));
    }

    @Test
    void arraysAreIndexedByEachElement() {
        coll.createIndex(Indexes.ascending("tags"));
        coll.insertOne(new Document("_id", 1).append("tags", List.of("x", "y")));
        coll.insertOne(new Document("_id", 2).append("tags", List.of("y", "z")));
        coll.insertOne(new Document("_id", 3).append("tags", "x"));
        assertEquals(List.of(1, 3), ids(Filters.eq("tags", "x")));
        assertEquals(List.of(1, 2), ids(Filters.eq("tags", "y")));
        coll.updateOne(Filters.eq("_id", 1), Updates.pull("tags", "y"));
        assertEquals(List.of(2), ids(Filters.eq("tags", "y")));
        assertEquals(List.of(1, 2, 3), ids(Filters.in("tags", "x", "z")));
    }

    @Test
    void sparseIndexesSkipDocumentsWithoutTheKey() {
        coll.createIndex(Indexes.ascending("c"), new IndexOptions().sparse(true).unique(true));
        coll.insertOne(new Document("_id", 1));
        coll.insertOne(new Document("_id", 2));
        coll.insertOne(new Document("_id", 3).append("c", 7));
        assertThrows(MongoWriteException.class, () -> coll.insertOne(new Document("_id", 4).append("c", 7)));
        assertEquals(List.of(3), ids(Filters.eq("c", 7)));
        assertEquals(List.of(1, 2), ids(Filters.exists("c", false)));
        assertEquals(3, coll.find().sort(Sorts.ascending("c")).into(new ArrayList<>()).size());
    }
}
