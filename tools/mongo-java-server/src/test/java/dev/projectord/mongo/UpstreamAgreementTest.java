package dev.projectord.mongo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;

import org.bson.Document;
import org.bson.conversions.Bson;
import org.junit.jupiter.api.Test;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Accumulators;
import com.mongodb.client.model.Aggregates;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.IndexOptions;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

/**
 * The same random writes and reads against this backend (indexed) and upstream's memory backend
 * (which scans): every read must give the same documents, in the same order where the sort
 * decides it. Catches index entries that fall out of step with the documents.
 */
class UpstreamAgreementTest {

    @Test
    void randomWritesAndReadsAgreeWithUpstream() {
        MemoryBackend plain = new MemoryBackend();
        plain.version(new EmbeddedMongo.Version6());
        MongoServer upstream = new MongoServer(plain);
        InetSocketAddress address = upstream.bind();
        try (TestServer server = TestServer.start();
             MongoClient reference = MongoClients.create("mongodb://127.0.0.1:" + address.getPort())) {
            MongoCollection<Document> ours = server.freshDatabase().getCollection("c");
            MongoCollection<Document> theirs = reference.getDatabase("ref").getCollection("c");
            for (MongoCollection<Document> coll : List.of(ours, theirs)) {
                coll.createIndex(Indexes.compoundIndex(Indexes.ascending("a"), Indexes.descending("b")));
                coll.createIndex(Indexes.ascending("tags"));
                coll.createIndex(Indexes.ascending("b"));
                coll.createIndex(Indexes.ascending("u"), new IndexOptions().unique(true).sparse(true));
            }
            Random random = new Random(42);
            int nextId = 0;
            for (int round = 0; round < 300; round++) {
                Bson write = null;
                int kind = random.nextInt(6);
                for (MongoCollection<Document> coll : List.of(ours, theirs)) {
                    Random same = new Random(round);
                    try {
                        switch (kind) {
                            case 0, 1 -> coll.insertOne(document(nextId, same));
                            case 2 -> coll.updateMany(Filters.eq("a", same.nextInt(6)), Updates.set("b", same.nextInt(5)));
                            case 3 -> coll.updateOne(Filters.eq("_id", same.nextInt(nextId + 1)), Updates.inc("a", 1));
                            case 4 -> coll.deleteMany(Filters.and(Filters.eq("b", same.nextInt(5)), Filters.gt("a", 3)));
                            default -> coll.updateOne(Filters.eq("_id", same.nextInt(nextId + 1)),
                                Updates.set("u", same.nextInt(40)));
                        }
                    } catch (com.mongodb.MongoWriteException e) {
                        assertEquals(11000, e.getError().getCode());
                    }
                }
                if (kind <= 1) {
                    nextId++;
                }
                for (int q = 0; q < 3; q++) {
                    Random same = new Random(round * 31L + q);
                    Bson filter = filter(same);
                    Bson sort = same.nextBoolean() ? Sorts.orderBy(Sorts.ascending("a"), Sorts.descending("b")) : null;
                    int limit = same.nextBoolean() ? 1 + same.nextInt(5) : 0;
                    assertEquals(read(theirs, filter, sort, limit), read(ours, filter, sort, limit),
                        "round " + round + ": " + filter + " sort " + sort + " limit " + limit);
                    assertEquals(theirs.countDocuments(filter), ours.countDocuments(filter), "count " + filter);
                    List<Bson> grouped = List.of(Aggregates.match(filter),
                        Aggregates.group("$b", Accumulators.sum("n", 1)), Aggregates.sort(Sorts.ascending("_id")));
                    assertEquals(theirs.aggregate(grouped).into(new ArrayList<>()), ours.aggregate(grouped).into(new ArrayList<>()),
                        "group " + filter);
                }
                assertEquals(theirs.countDocuments(), ours.countDocuments());
            }
        } finally {
            upstream.shutdownNow();
        }
    }

    private static Document document(int id, Random random) {
        Document document = new Document("_id", id).append("a", random.nextInt(6)).append("b", random.nextInt(5));
        List<Integer> tags = new ArrayList<>();
        for (int i = random.nextInt(3); i > 0; i--) {
            tags.add(random.nextInt(4));
        }
        return document.append("tags", tags);
    }

    private static Bson filter(Random random) {
        return switch (random.nextInt(9)) {
            case 7 -> Filters.or(Filters.and(Filters.eq("a", random.nextInt(6)), Filters.lt("b", random.nextInt(5))),
                Filters.eq("tags", random.nextInt(4)));
            case 8 -> Filters.and(Filters.gte("b", random.nextInt(3)),
                Filters.or(Filters.eq("a", random.nextInt(6)), Filters.eq("b", random.nextInt(5))));
            case 0 -> Filters.eq("a", random.nextInt(6));
            case 1 -> Filters.and(Filters.eq("a", random.nextInt(6)), Filters.gt("b", random.nextInt(5)));
            case 2 -> Filters.lte("b", random.nextInt(5));
            case 3 -> Filters.eq("tags", random.nextInt(4));
            case 4 -> Filters.in("a", random.nextInt(6), random.nextInt(6));
            case 5 -> Filters.and(Filters.eq("_id", random.nextInt(50)), Filters.lt("a", 4));
            default -> Filters.eq("u", random.nextInt(40));
        };
    }

    /** Ids when the order is not fully decided by the sort (sorted by id), else the sort keys in order. */
    private static List<String> read(MongoCollection<Document> coll, Bson filter, Bson sort, int limit) {
        var find = coll.find(filter);
        if (sort != null) {
            find = find.sort(sort);
        }
        if (limit > 0) {
            find = find.limit(limit);
        }
        List<Document> docs = find.into(new ArrayList<>());
        if (sort != null) {
            return docs.stream().map(d -> d.get("a") + "/" + d.get("b")).collect(Collectors.toList());
        }
        if (limit > 0) {
            return List.of(String.valueOf(docs.size()));
        }
        return docs.stream().map(d -> String.valueOf(d.get("_id"))).sorted().collect(Collectors.toList());
    }
}
