package dev.projectord.mongo;

import java.util.List;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.DatabaseResolver;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.QueryParameters;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.backend.memory.MemoryDatabase;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.FailedToParseException;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.oplog.NoopOplog;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;

/**
 * The memory backend's database with {@link OrderedIndex}es (unique or not, compound),
 * {@link IndexedCollection}s, an insert command that leaves the oplog to the collection (in order,
 * refused documents left out) and change streams read from the {@link OrderedOplog}, for one
 * collection or the whole database ({@code aggregate: 1}), with post-batch resume tokens.
 */
public class IndexedDatabase extends MemoryDatabase {

    private final ReplicaSetBackend backend;

    public IndexedDatabase(String databaseName, CursorRegistry cursorRegistry, ReplicaSetBackend backend) {
        super(databaseName, cursorRegistry);
        this.backend = backend;
    }

    /** The backend's oplog (none while the upstream constructor opens the system collections). */
    Oplog oplog() {
        return backend == null ? NoopOplog.get() : backend.oplog();
    }

    @Override
    protected IndexedCollection openOrCreateCollection(String collectionName, CollectionOptions options) {
        return new IndexedCollection(this, collectionName, options, cursorRegistry);
    }

    @Override
    protected Index<Integer> openOrCreateUniqueIndex(String collectionName, String indexName, List<IndexKey> keys,
                                                     boolean sparse) {
        String idField = idFieldOf(collectionName);
        return idField == null ? super.openOrCreateUniqueIndex(collectionName, indexName, keys, sparse)
            : new OrderedIndex(indexName, keys, sparse, true, idField);
    }

    @Override
    protected Index<Integer> openOrCreateSecondaryIndex(String collectionName, String indexName, List<IndexKey> keys,
                                                        boolean sparse) {
        String idField = idFieldOf(collectionName);
        return idField == null ? super.openOrCreateSecondaryIndex(collectionName, indexName, keys, sparse)
            : new OrderedIndex(indexName, keys, sparse, false, idField);
    }

    private String idFieldOf(String collectionName) {
        MongoCollection<Integer> collection = resolveCollection(collectionName, false);
        return collection instanceof IndexedCollection indexed ? indexed.idField() : null;
    }

    @Override
    public Document handleCommand(Channel channel, String command, Document query, DatabaseResolver databaseResolver,
                                  Oplog oplog) {
        if (command.equalsIgnoreCase("insert")) {
            return commandInsert(channel, query);
        }
        if (command.equalsIgnoreCase("explain") && query.get("explain") instanceof Document explained
            && explained.get("find") != null) {
            return explainFind(explained);
        }
        if (command.equalsIgnoreCase("aggregate")) {
            List<Document> pipeline = Aggregation.parse(query.get("pipeline"));
            if (!pipeline.isEmpty() && pipeline.get(0).get("$changeStream") instanceof Document spec
                && oplog instanceof OrderedOplog ordered) {
                return openChangeStream(query, pipeline, spec, databaseResolver, ordered);
            }
            Document matched = aggregateFromMatch(query, pipeline, databaseResolver, oplog);
            if (matched != null) {
                return matched;
            }
        }
        return super.handleCommand(channel, command, query, databaseResolver, oplog);
    }

    private Document explainFind(Document find) {
        MongoCollection<Integer> collection = resolveCollection(find.get("find").toString(), false);
        Document filter = (Document) find.getOrDefault("filter", new Document());
        Document sort = (Document) find.get("sort");
        int skip = ((Number) find.getOrDefault("skip", 0)).intValue();
        int limit = Math.abs(((Number) find.getOrDefault("limit", 0)).intValue());
        Document reply = collection instanceof IndexedCollection indexed
            ? indexed.explainFind(filter, sort, skip, limit)
            : new Document("queryPlanner", new Document("winningPlan", new Document("stage", "EOF")));
        Utils.markOkay(reply);
        return reply;
    }

    /**
     * An aggregation that starts with {@code $match} on a collection: the match reads through the
     * collection's indexes, the other stages run on what it found; the driver's
     * {@code countDocuments} shape ({@code $match}, then {@code $group} of a constant {@code _id}
     * with {@code {$sum: 1}}) is answered by counting. Null for anything else (upstream runs it).
     */
    private Document aggregateFromMatch(Document query, List<Document> pipeline, DatabaseResolver databaseResolver,
                                        Oplog oplog) {
        if (pipeline.isEmpty() || !(pipeline.get(0).get("$match") instanceof Document match)
            || !(query.get("aggregate") instanceof String collectionName) || query.containsKey("let")
            || query.containsKey("explain") || !(query.get("cursor") instanceof Document)) {
            return null;
        }
        MongoCollection<Integer> collection = resolveCollection(collectionName, false);
        if (!(collection instanceof IndexedCollection indexed)) {
            return null;
        }
        List<Document> rest = pipeline.subList(1, pipeline.size());
        Aggregation stages = Aggregation.fromPipeline(rest, databaseResolver, this, collection, oplog);
        if (stages.isModifying()) {
            return null;
        }
        List<Document> result;
        Object countId = countShape(rest);
        if (countId != null) {
            int n = indexed.count(match, 0, 0);
            result = n == 0 ? List.of() : List.of(new Document("_id", countId).append(countField(rest), n));
        } else {
            List<Document> found = indexed.handleQuery(new QueryParameters(new Document("$query", match), 0, 0))
                .collectDocuments();
            result = stages.runStages(found.stream());
        }
        Document cursor = new Document("firstBatch", result).append("id", 0L)
            .append("ns", getFullCollectionNamespace(collectionName));
        Document reply = new Document("cursor", cursor);
        Utils.markOkay(reply);
        return reply;
    }

    /** The constant {@code _id} of a lone {@code {$group: {_id: c, n: {$sum: 1}}}}, else null. */
    private static Object countShape(List<Document> rest) {
        if (rest.size() != 1 || !(rest.get(0).get("$group") instanceof Document group) || group.size() != 2) {
            return null;
        }
        Object id = group.get("_id");
        if (id == null || id instanceof Document || id instanceof List || (id instanceof String text && text.startsWith("$"))) {
            return null;
        }
        String field = countField(rest);
        Object sum = field == null ? null : group.get(field);
        return sum instanceof Document accumulator && accumulator.size() == 1
            && accumulator.get("$sum") instanceof Number one && one.doubleValue() == 1.0 ? id : null;
    }

    private static String countField(List<Document> rest) {
        Document group = (Document) rest.get(0).get("$group");
        return group.keySet().stream().filter(key -> !key.equals("_id")).findFirst().orElse(null);
    }

    /** A collection to write to, created on first use as a write would. */
    IndexedCollection collectionForWrite(String collectionName) {
        if (collectionName.startsWith("system.")) {
            throw new MongoServerError(16459, "attempt to insert in system namespace '" + collectionName + "'");
        }
        MongoCollection<Integer> collection = resolveOrCreateCollection(collectionName);
        if (collection instanceof IndexedCollection indexed) {
            return indexed;
        }
        throw new IllegalStateException(collection + " was not opened by " + getClass().getSimpleName());
    }

    @SuppressWarnings("unchecked")
    private Document commandInsert(Channel channel, Document query) {
        if (channel != null) {
            clearLastStatus(channel);
        }
        String collectionName = query.get("insert").toString();
        boolean ordered = !Boolean.FALSE.equals(query.get("ordered"));
        List<Document> documents = (List<Document>) query.get("documents");
        List<Document> writeErrors = collectionForWrite(collectionName).insertDocuments(documents, ordered);
        int inserted = ordered && !writeErrors.isEmpty()
            ? ((Number) writeErrors.get(0).get("index")).intValue()
            : documents.size() - writeErrors.size();
        Document response = new Document("n", inserted);
        if (!writeErrors.isEmpty()) {
            response.put("writeErrors", writeErrors);
        }
        Utils.markOkay(response);
        if (channel != null) {
            putLastResult(channel, response.clone());
        }
        return response;
    }

    private Document openChangeStream(Document query, List<Document> pipeline, Document spec,
                                      DatabaseResolver databaseResolver, OrderedOplog oplog) {
        Object target = query.get("aggregate");
        ChangeStreamCursor.Scope scope = target instanceof Number
            ? new ChangeStreamCursor.Scope(getDatabaseName(), null)
            : new ChangeStreamCursor.Scope(getDatabaseName(), target.toString());
        if (!(query.get("cursor") instanceof Document cursorSpec)) {
            throw new FailedToParseException("The 'cursor' option is required, except for aggregate with the explain argument");
        }
        MongoCollection<Integer> collection = scope.collection() == null ? null
            : resolveCollection(scope.collection(), false);
        Aggregation stages = Aggregation.fromPipeline(pipeline.subList(1, pipeline.size()), databaseResolver, this,
            collection, oplog);
        int batchSize = ((Number) cursorSpec.getOrDefault("batchSize", ChangeStreamCursor.DEFAULT_BATCH)).intValue();
        ChangeStreamCursor cursor = oplog.openCursor(spec, scope, stages);
        return cursor.reply(cursor.next(batchSize), "firstBatch");
    }

    /** Renames are change events too: the old name's streams see `rename`, then `invalidate`. */
    @Override
    public void moveCollection(MongoDatabase oldDatabase, MongoCollection<?> collection, String newCollectionName) {
        String from = collection.getFullName();
        super.moveCollection(oldDatabase, collection, newCollectionName);
        if (oplog() instanceof OrderedOplog ordered) {
            ordered.handleRename(from, collection.getFullName());
        }
    }
}
