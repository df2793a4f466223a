package dev.projectord.mongo;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.memory.MemoryCollection;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.oplog.NoopOplog;
import de.bwaldvogel.mongo.oplog.Oplog;

/**
 * The memory backend's collection with planned reads and ordered change records.
 *
 * <ul>
 *   <li>Reads ask the {@link IndexPlanner} for candidates from an {@link OrderedIndex}; a walk
 *   along an index in the requested order stops at the limit instead of sorting everything.</li>
 *   <li>Inserts record each stored document in the oplog while this collection's lock is still
 *   held, so the oplog has the collection's inserts in the order they were applied, and an insert
 *   refused by a unique index records nothing. (Upstream records a whole insert command after the
 *   lock is released, refused documents included.)</li>
 * </ul>
 */
public class IndexedCollection extends MemoryCollection {

    public IndexedCollection(MongoDatabase database, String collectionName, CollectionOptions options,
                             CursorRegistry cursorRegistry) {
        super(database, collectionName, options, cursorRegistry);
    }

    /** The field documents are identified by (null for internal collections without one). */
    String idField() {
        return getIdField();
    }

    private Oplog oplog() {
        return getDatabase() instanceof IndexedDatabase database ? database.oplog() : NoopOplog.get();
    }

    private List<OrderedIndex> orderedIndexes() {
        List<OrderedIndex> result = new ArrayList<>();
        for (Index<Integer> index : getIndexes()) {
            if (index instanceof OrderedIndex ordered) {
                result.add(ordered);
            }
        }
        return result;
    }

    @Override
    protected QueryResult queryDocuments(Document query, Document orderBy, int numberToSkip, int limit,
                                         int batchSize, Document fieldSelector) {
        return query(query, orderBy, numberToSkip, limit, batchSize, fieldSelector, new long[1]);
    }

    private QueryResult query(Document query, Document orderBy, int numberToSkip, int limit, int batchSize,
                              Document fieldSelector, long[] examined) {
        IndexPlanner.Plan plan = IndexPlanner.plan(query, orderBy, orderedIndexes(), this::getDocument);
        if (plan == null) {
            examined[0] = count();
            return super.queryDocuments(query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
        }
        Stream<Document> candidates = StreamSupport.stream(plan.positions().spliterator(), false)
            .peek(position -> examined[0]++)
            .map(this::getDocument);
        if (plan.ordered() || orderBy == null || orderBy.isEmpty()) {
            return matchDocumentsFromStream(query, candidates, numberToSkip, limit, batchSize, null, fieldSelector);
        }
        return matchDocumentsFromStream(candidates, query, orderBy, numberToSkip, limit, batchSize, fieldSelector);
    }

    /**
     * The {@code explain} of a find: the plan chosen ({@code IXSCAN} with its index, or
     * {@code COLLSCAN}), and how many documents it examined to return how many.
     */
    synchronized Document explainFind(Document query, Document orderBy, int numberToSkip, int limit) {
        IndexPlanner.Plan plan = IndexPlanner.plan(query, orderBy, orderedIndexes(), this::getDocument);
        long[] examined = new long[1];
        int returned = query(query, orderBy, numberToSkip, limit, 0, null, examined).collectDocuments().size();
        Document scan = plan == null ? new Document("stage", "COLLSCAN")
            : plan.index() == null ? new Document("stage", "OR")
            : new Document("stage", "IXSCAN").append("indexName", plan.index().getName())
                .append("keyPattern", plan.index().toIndexDescription().get("key"));
        Document winningPlan = plan == null ? scan : new Document("stage", "FETCH").append("inputStage", scan);
        if (plan != null && !plan.ordered() && orderBy != null && !orderBy.isEmpty()) {
            winningPlan = new Document("stage", "SORT").append("inputStage", winningPlan);
        }
        return new Document("queryPlanner", new Document("namespace", getFullName()).append("winningPlan", winningPlan))
            .append("executionStats", new Document("nReturned", returned)
                .append("totalDocsExamined", examined[0])
                .append("totalKeysExamined", plan == null ? 0L : examined[0]));
    }

    /**
     * Inserts in order, recording each stored document in the oplog under this collection's lock.
     * Returns the write errors (index, code, codeName, errmsg, and keyPattern/keyValue for E11000).
     */
    @Override
    public synchronized List<Document> insertDocuments(List<Document> documents, boolean isOrdered) {
        List<Document> writeErrors = new ArrayList<>();
        Oplog oplog = oplog();
        for (int i = 0; i < documents.size(); i++) {
            Document document = documents.get(i);
            try {
                addDocument(document);
            } catch (MongoServerError e) {
                writeErrors.add(writeError(i, e));
                if (isOrdered) {
                    break;
                }
                continue;
            }
            oplog.handleInsert(getFullName(), List.of(document));
        }
        return writeErrors;
    }

    static Document writeError(int index, MongoServerError e) {
        Document error = new Document("index", index)
            .append("code", e.getCode());
        error.putIfNotNull("codeName", e.getCodeName());
        error.append("errmsg", e.getMessageWithoutErrorCode());
        if (e instanceof OrderedIndex.KeyedDuplicateKeyError duplicate) {
            error.append("keyPattern", duplicate.keyPattern()).append("keyValue", duplicate.keyValue());
        }
        return error;
    }

    /** Reads the indexes: not while writers change them (upstream leaves it unsynchronised). */
    @Override
    public synchronized int count(Document query, int skip, int limit) {
        return super.count(query, skip, limit);
    }

    /** Index builds read every document: not while writers change them. */
    @Override
    public synchronized void addIndex(Index<Integer> index) {
        super.addIndex(index);
    }

    @Override
    public synchronized void dropIndex(String indexName) {
        super.dropIndex(indexName);
    }
}
