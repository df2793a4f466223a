package dev.projectord.mongo;

import java.util.List;
import java.util.Locale;
import java.util.function.LongSupplier;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.Cursor;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.BinData;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.exception.CursorNotFoundException;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;

import dev.projectord.mongo.OplogEntry.Namespace;

/**
 * The memory backend as a one-member replica set, for clients that rely on what a replica set
 * gives:
 * <ul>
 *   <li>{@code hello} names the set (primary, {@code setName}, {@code logicalSessionTimeoutMinutes}),
 *   so drivers use sessions and allow transactions;</li>
 *   <li>every reply carries {@code operationTime} and {@code $clusterTime} (the newest oplog entry's
 *   cluster time);</li>
 *   <li>an {@link OrderedOplog} bounded to the newest {@code oplogMaxEntries} entries;</li>
 *   <li>change streams per collection, database or deployment, with post-batch resume tokens, and
 *   getMore waiting for data ({@link AwaitData});</li>
 *   <li>{@link Transactions} around inserts, committed with one cluster time;</li>
 *   <li>{@link IndexedDatabase}s, whose collections read through {@link OrderedIndex}es.</li>
 * </ul>
 */
public class ReplicaSetBackend extends MemoryBackend {

    /** What differs from a default replica set; see {@link LauncherOptions} for the command line. */
    public record Settings(String replicaSetName, long oplogMaxEntries, LongSupplier wallMillis) {

        public static Settings defaults() {
            return new Settings("rs0", 1_000_000, System::currentTimeMillis);
        }

        public Settings withOplogMaxEntries(long maxEntries) {
            return new Settings(replicaSetName, maxEntries, wallMillis);
        }

        public Settings withReplicaSetName(String name) {
            return new Settings(name, oplogMaxEntries, wallMillis);
        }

        public Settings withWallClock(LongSupplier millis) {
            return new Settings(replicaSetName, oplogMaxEntries, millis);
        }
    }

    private static final long DEFAULT_AWAIT_MILLIS = 1000;

    private final Settings settings;
    private final ClusterClock clock;
    private final AwaitData awaitData = new AwaitData();
    private final Transactions transactions;
    private final ObjectId electionId = new ObjectId();
    private volatile String me = "localhost:27017";

    public ReplicaSetBackend(Settings settings) {
        this.settings = settings;
        this.clock = new ClusterClock(settings.wallMillis());
        this.transactions = new Transactions(this, settings.wallMillis());
    }

    /** The address clients reach this member at, reported by {@code hello} as {@code me}, hosts and primary. */
    public void advertise(String host, int port) {
        this.me = host + ":" + port;
    }

    Oplog oplog() {
        return oplog;
    }

    @Override
    public IndexedDatabase openOrCreateDatabase(String databaseName) {
        return new IndexedDatabase(databaseName, getCursorRegistry(), this);
    }

    IndexedDatabase indexedDatabase(String databaseName) {
        return (IndexedDatabase) resolveDatabase(databaseName);
    }

    @Override
    protected Oplog createOplog() {
        OrderedOplog ordered = new OrderedOplog(clock, getCursorRegistry(), this::lookUp, settings.oplogMaxEntries());
        ordered.onAppend(awaitData::wakeAll);
        return ordered;
    }

    private Document lookUp(Namespace ns, Object id) {
        MongoCollection<?> collection = resolveDatabase(ns.db()).resolveCollection(ns.collection(), false);
        if (collection == null) {
            return null;
        }
        for (Document document : collection.handleQuery(new Document("_id", id), 0, 1)) {
            return document;
        }
        return null;
    }

    @Override
    public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
        Document reply = dispatch(channel, databaseName, command, query);
        return reply == null ? null : withClusterTime(reply);
    }

    private Document dispatch(Channel channel, String databaseName, String command, Document query) {
        String name = command.toLowerCase(Locale.ROOT);
        Object lsid = query.remove("lsid");
        Object txnNumber = query.remove("txnNumber");
        Object autocommit = query.remove("autocommit");
        Object startTransaction = query.remove("startTransaction");
        query.remove("$clusterTime");
        query.remove("$readPreference");
        query.remove("readConcern");
        switch (name) {
            case "hello", "ismaster" -> {
                return hello(channel, databaseName, query);
            }
            case "committransaction" -> {
                return transactions.commit(lsid, txnNumber);
            }
            case "aborttransaction" -> {
                return transactions.abort(lsid, txnNumber);
            }
            case "replsetgetstatus" -> {
                return replicaSetStatus();
            }
            case "getmore" -> {
                Document reply = changeStreamGetMore(channel, query);
                if (reply != null) {
                    return reply;
                }
            }
            case "killcursors" -> {
                Document reply = super.handleCommand(channel, databaseName, command, query);
                for (Object id : (List<?>) query.get("cursors")) {
                    awaitData.cursorKilled(((Number) id).longValue());
                }
                return reply;
            }
            default -> {
            }
        }
        if (Boolean.FALSE.equals(autocommit)) {
            Document reply = transactions.statement(lsid, txnNumber, Boolean.TRUE.equals(startTransaction),
                databaseName, command, query);
            if (reply != null) {
                return reply;
            }
        }
        if (name.equals("aggregate") && databaseName.equals("admin")) {
            Document reply = clusterChangeStream(query);
            if (reply != null) {
                return reply;
            }
        }
        return super.handleCommand(channel, databaseName, command, query);
    }

    /** Records the end of a database for database-wide streams (their collections' drops come first). */
    @Override
    public void dropDatabase(String databaseName) {
        boolean existed = listDatabaseNames().contains(databaseName);
        super.dropDatabase(databaseName);
        if (existed && oplog instanceof OrderedOplog ordered) {
            ordered.handleDropDatabase(databaseName);
        }
    }

    private Document withClusterTime(Document reply) {
        if (oplog instanceof OrderedOplog ordered) {
            BsonTimestamp time = ordered.clusterTime();
            reply.put("operationTime", time);
            reply.put("$clusterTime", new Document("clusterTime", time)
                .append("signature", new Document("hash", new BinData(new byte[20])).append("keyId", 0L)));
        }
        return reply;
    }

    private Document hello(Channel channel, String databaseName, Document query) {
        Document reply = super.handleCommand(channel, databaseName, "ismaster", query);
        BsonTimestamp time = oplog instanceof OrderedOplog ordered ? ordered.clusterTime() : clock.startOfNow();
        Document opTime = new Document("ts", time).append("t", 1L);
        reply.put("isWritablePrimary", Boolean.TRUE);
        reply.put("secondary", Boolean.FALSE);
        reply.put("setName", settings.replicaSetName());
        reply.put("setVersion", 1);
        reply.put("hosts", List.of(me));
        reply.put("primary", me);
        reply.put("me", me);
        reply.put("electionId", electionId);
        reply.put("lastWrite", new Document("opTime", opTime)
            .append("lastWriteDate", clock.wallTime())
            .append("majorityOpTime", opTime)
            .append("majorityWriteDate", clock.wallTime()));
        reply.put("logicalSessionTimeoutMinutes", 30);
        return reply;
    }

    private Document replicaSetStatus() {
        Document member = new Document("_id", 0).append("name", me).append("health", 1.0).append("state", 1)
            .append("stateStr", "PRIMARY").append("self", Boolean.TRUE);
        Document reply = new Document("set", settings.replicaSetName()).append("myState", 1)
            .append("members", List.of(member)).append("ok", 1.0);
        return reply;
    }

    /** A change stream's getMore (null for other cursors): waits for data up to maxTimeMS. */
    private Document changeStreamGetMore(Channel channel, Document query) {
        long cursorId = ((Number) query.get("getMore")).longValue();
        Cursor cursor;
        try {
            cursor = getCursorRegistry().getCursor(cursorId);
        } catch (CursorNotFoundException e) {
            return null;
        }
        if (!(cursor instanceof ChangeStreamCursor stream)) {
            return null;
        }
        int batchSize = ((Number) query.getOrDefault("batchSize", 0)).intValue();
        List<Document> batch = stream.next(batchSize);
        long awaitMillis = ((Number) query.getOrDefault("maxTimeMS", DEFAULT_AWAIT_MILLIS)).longValue();
        if (!batch.isEmpty() || stream.isEmpty() || channel == null || awaitMillis <= 0) {
            return stream.reply(batch, "nextBatch");
        }
        return awaitData.defer(channel, cursorId, awaitMillis,
            () -> {
                if (!stream.hasNews()) {
                    return null;
                }
                List<Document> found = stream.next(batchSize);
                return found.isEmpty() && !stream.isEmpty() ? null : stream.reply(found, "nextBatch");
            },
            () -> stream.reply(stream.next(batchSize), "nextBatch"),
            this::withClusterTime);
    }

    /** {@code db.getSiblingDB("admin").aggregate([{$changeStream: {allChangesForCluster: true}}])}. */
    private Document clusterChangeStream(Document query) {
        if (!(oplog instanceof OrderedOplog ordered)) {
            return null;
        }
        List<Document> pipeline = Aggregation.parse(query.get("pipeline"));
        if (pipeline.isEmpty() || !(pipeline.get(0).get("$changeStream") instanceof Document spec)) {
            return null;
        }
        if (!Boolean.TRUE.equals(spec.get("allChangesForCluster"))) {
            throw new MongoServerError(73, "InvalidNamespace",
                "$changeStream may not be opened on the internal admin database unless allChangesForCluster is true");
        }
        MongoDatabase admin = resolveDatabase("admin");
        Aggregation stages = Aggregation.fromPipeline(pipeline.subList(1, pipeline.size()), this::resolveDatabase,
            admin, null, ordered);
        Object cursorSpec = query.get("cursor");
        int batchSize = cursorSpec instanceof Document c
            ? ((Number) c.getOrDefault("batchSize", ChangeStreamCursor.DEFAULT_BATCH)).intValue()
            : ChangeStreamCursor.DEFAULT_BATCH;
        ChangeStreamCursor cursor = ordered.openCursor(spec, ChangeStreamCursor.Scope.cluster(), stages);
        return cursor.reply(cursor.next(batchSize), "firstBatch");
    }
}
