package dev.projectord.mongo;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import de.bwaldvogel.mongo.backend.AbstractCursor;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.backend.aggregation.stage.MatchStage;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;

import dev.projectord.mongo.OplogEntry.Kind;
import dev.projectord.mongo.OplogEntry.Namespace;

/**
 * A change stream: reads the {@link OrderedOplog} after its position, turns entries into change
 * events, runs the stream's own pipeline stages on each, and remembers the post-batch resume
 * token of every batch (the newest position it examined, events or not).
 *
 * <p>Like a real server it starts at {@code resumeAfter} / {@code startAfter} / {@code
 * startAtOperationTime} or at the newest entry; answers ChangeStreamHistoryLost (286) when the
 * entries after its position were dropped from the bounded oplog; closes after an {@code
 * invalidate} event when its collection is dropped or renamed (its database dropped, for a
 * database-wide stream); and never filters {@code invalidate} with the stream's own stages.
 */
public final class ChangeStreamCursor extends AbstractCursor {

    static final int HISTORY_LOST = 286;
    static final int FATAL = 280;

    /** Entries examined per read at most, so a read behind a busy log stays short. */
    private static final int MAX_SCAN = 100_000;

    /** Events per batch when the client does not say. */
    static final int DEFAULT_BATCH = 101;

    private final OrderedOplog oplog;
    private final CursorRegistry registry;
    private final Scope scope;
    private final Aggregation stages;
    private final boolean copyEvents;
    private final boolean lookupUpdates;
    private OplogKey position;
    private OplogEntry pendingInvalidate;
    private boolean invalidated;
    private Document postBatchResumeToken;

    /** Which namespaces a stream watches: a collection, a database, or the whole deployment. */
    record Scope(String db, String collection) {

        static Scope of(Namespace ns) {
            return new Scope(ns.db(), ns.collection());
        }

        static Scope cluster() {
            return new Scope(null, null);
        }

        boolean sees(OplogEntry entry) {
            Namespace ns = entry.ns();
            if (db != null && !db.equals(ns.db())) {
                return false;
            }
            if (db == null && (ns.db().equals("admin"))) {
                return false;
            }
            return collection == null || ns.collection() == null || collection.equals(ns.collection());
        }

        boolean invalidatedBy(OplogEntry entry) {
            if (db == null || !sees(entry)) {
                return false;
            }
            if (collection == null) {
                return entry.kind() == Kind.DROP_DATABASE;
            }
            return entry.kind() == Kind.DROP || entry.kind() == Kind.RENAME;
        }

        /** A collection stream ends with its collection: no dropDatabase event after the drop. */
        boolean reports(OplogEntry entry) {
            return !(collection != null && entry.kind() == Kind.DROP_DATABASE);
        }

        String namespace() {
            return db == null ? "admin.$cmd.aggregate" : collection == null ? db + ".$cmd.aggregate" : db + "." + collection;
        }
    }

    private ChangeStreamCursor(long id, OrderedOplog oplog, CursorRegistry registry, Scope scope, Aggregation stages,
                               boolean lookupUpdates) {
        super(id);
        this.oplog = oplog;
        this.registry = registry;
        this.scope = scope;
        this.stages = stages;
        this.lookupUpdates = lookupUpdates;
        this.copyEvents = stages != null && stages.getStages().stream().anyMatch(s -> !(s instanceof MatchStage));
    }

    static ChangeStreamCursor open(CursorRegistry registry, OrderedOplog oplog, Scope scope, Document spec,
                                   Aggregation stages) {
        Object fullDocument = spec.get("fullDocument");
        ChangeStreamCursor cursor = new ChangeStreamCursor(registry.generateCursorId(), oplog, registry, scope, stages,
            "updateLookup".equals(fullDocument) || "whenAvailable".equals(fullDocument) || "required".equals(fullDocument));
        cursor.start(spec);
        return cursor;
    }

    private void start(Document spec) {
        Object resumeAfter = spec.get("resumeAfter");
        Object startAfter = spec.get("startAfter");
        Object startAt = spec.get("startAtOperationTime");
        if ((resumeAfter != null ? 1 : 0) + (startAfter != null ? 1 : 0) + (startAt != null ? 1 : 0) > 1) {
            throw new MongoServerError(40674, "Only one type of resume option is allowed, but multiple were found.");
        }
        if (resumeAfter != null || startAfter != null) {
            ResumeToken token = ResumeToken.parse(resumeAfter != null ? resumeAfter : startAfter);
            if (token.invalidate() && resumeAfter != null) {
                throw new MongoServerError(ResumeToken.INVALID_RESUME_TOKEN, "InvalidResumeToken",
                    "Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate "
                        + "notification; use 'startAfter'");
            }
            if (oplog.head().isBefore(token.key())) {
                throw new MongoServerError(FATAL, "ChangeStreamFatalError",
                    "cannot resume stream; the resume token was not found (it is ahead of this server's oplog)");
            }
            position = token.key();
            OplogEntry resumedAt = oplog.at(position);
            if (resumeAfter != null && resumedAt != null && scope.invalidatedBy(resumedAt)) {
                pendingInvalidate = resumedAt;
            }
        } else if (startAt != null) {
            if (!(startAt instanceof BsonTimestamp time)) {
                throw new MongoServerError(14, "TypeMismatch", "startAtOperationTime must be a timestamp, got " + startAt);
            }
            position = OplogKey.before(time);
        } else {
            position = oplog.head();
        }
        checkHistory(position);
        postBatchResumeToken = new ResumeToken(position, false).toDocument();
    }

    private void checkHistory(OplogKey from) {
        OplogKey trimmed = oplog.trimmedThrough();
        if (trimmed != null && from.isBefore(trimmed)) {
            throw new MongoServerError(HISTORY_LOST, "ChangeStreamHistoryLost",
                "Resume of change stream was not possible, as the resume point may no longer be in the oplog. "
                    + "(resume point " + from.timestamp() + ", oldest entry kept after " + trimmed.timestamp() + ")");
        }
    }

    /** The namespace a reply names for this cursor. */
    String namespace() {
        return scope.namespace();
    }

    /** True once the stream was invalidated: the server closes it. */
    @Override
    public synchronized boolean isEmpty() {
        return invalidated;
    }

    @Override
    public List<Document> takeDocuments(int numberToReturn) {
        return next(numberToReturn);
    }

    /** Up to {@code max} events (0 = the default batch), never waiting. */
    synchronized List<Document> next(int max) {
        int limit = max > 0 ? max : DEFAULT_BATCH;
        List<Document> batch = new ArrayList<>();
        if (invalidated) {
            return batch;
        }
        if (pendingInvalidate != null) {
            invalidate(pendingInvalidate, batch);
            return batch;
        }
        OplogKey start = position;
        checkHistory(start);
        int scanned = 0;
        for (OplogEntry entry : oplog.after(start)) {
            position = entry.key();
            if (scope.sees(entry) && scope.reports(entry)) {
                Document event = stage(toEvent(entry));
                if (event != null) {
                    batch.add(event);
                }
            }
            if (scope.invalidatedBy(entry)) {
                invalidate(entry, batch);
                break;
            }
            if (batch.size() >= limit || ++scanned >= MAX_SCAN) {
                break;
            }
        }
        // Entries after our start may have been dropped while we read: their absence is a loss.
        checkHistory(start);
        if (!invalidated) {
            postBatchResumeToken = new ResumeToken(position, false).toDocument();
        }
        return batch;
    }

    /** True when the next read would find something (or an error) at once. */
    synchronized boolean hasNews() {
        return invalidated || pendingInvalidate != null || oplog.head().compareTo(position) > 0;
    }

    /**
     * A cursor reply for this batch ({@code firstBatch} or {@code nextBatch}) with its post-batch
     * resume token; an invalidated stream is closed (cursor id 0) and forgotten.
     */
    Document reply(List<Document> batch, String batchKey) {
        boolean closed = isEmpty();
        if (closed) {
            registry.remove(getId());
        }
        Document cursor = new Document(batchKey, batch)
            .append("postBatchResumeToken", postBatchResumeToken())
            .append("id", closed ? 0L : getId())
            .append("ns", namespace());
        Document reply = new Document("cursor", cursor);
        Utils.markOkay(reply);
        return reply;
    }

    Document postBatchResumeToken() {
        synchronized (this) {
            return postBatchResumeToken;
        }
    }

    private void invalidate(OplogEntry cause, List<Document> batch) {
        ResumeToken token = new ResumeToken(cause.key(), true);
        batch.add(new Document("_id", token.toDocument())
            .append("operationType", "invalidate")
            .append("clusterTime", cause.key().timestamp())
            .append("wallTime", cause.wallTime()));
        postBatchResumeToken = token.toDocument();
        pendingInvalidate = null;
        invalidated = true;
    }

    private Document stage(Document event) {
        if (stages == null || stages.getStages().isEmpty()) {
            return event;
        }
        return stages.runStagesAsStream(Stream.of(copyEvents ? event.cloneDeeply() : event)).findFirst().orElse(null);
    }

    private Document toEvent(OplogEntry entry) {
        Document event = new Document("_id", new ResumeToken(entry.key(), false).toDocument())
            .append("operationType", operationType(entry.kind()))
            .append("clusterTime", entry.key().timestamp())
            .append("wallTime", entry.wallTime());
        switch (entry.kind()) {
            case INSERT -> event
                .append("fullDocument", entry.document())
                .append("ns", entry.ns().toDocument())
                .append("documentKey", new Document("_id", entry.id()));
            case UPDATE -> {
                event.append("ns", entry.ns().toDocument())
                    .append("documentKey", new Document("_id", entry.id()))
                    .append("updateDescription", describeUpdate(entry.document()));
                if (lookupUpdates) {
                    event.append("fullDocument", oplog.lookUp(entry.ns(), entry.id()));
                }
            }
            case REPLACE -> {
                Document replacement = entry.document().clone();
                replacement.putIfAbsent("_id", entry.id());
                event.append("fullDocument", replacement)
                    .append("ns", entry.ns().toDocument())
                    .append("documentKey", new Document("_id", entry.id()));
            }
            case DELETE -> event
                .append("ns", entry.ns().toDocument())
                .append("documentKey", new Document("_id", entry.id()));
            case DROP, DROP_DATABASE -> event.append("ns", entry.ns().toDocument());
            case RENAME -> event
                .append("ns", entry.ns().toDocument())
                .append("to", entry.to().toDocument());
            default -> throw new IllegalStateException("unknown oplog entry kind " + entry.kind());
        }
        return event;
    }

    private static String operationType(Kind kind) {
        return switch (kind) {
            case INSERT -> "insert";
            case UPDATE -> "update";
            case REPLACE -> "replace";
            case DELETE -> "delete";
            case DROP -> "drop";
            case RENAME -> "rename";
            case DROP_DATABASE -> "dropDatabase";
        };
    }

    /**
     * The fields an update set and removed, from its operators: {@code $set} values as given,
     * {@code $unset} names. Other operators ({@code $inc}, {@code $push}, ...) are reported by
     * field name with the operator's argument, not the resulting value (which a real server gives).
     */
    private static Document describeUpdate(Document update) {
        Document updated = new Document();
        List<String> removed = new ArrayList<>();
        for (Map.Entry<String, Object> op : update.entrySet()) {
            if (!(op.getValue() instanceof Document fields)) {
                continue;
            }
            if (op.getKey().equals("$unset")) {
                removed.addAll(fields.keySet());
            } else {
                fields.forEach(updated::put);
            }
        }
        return new Document("updatedFields", updated)
            .append("removedFields", removed)
            .append("truncatedArrays", List.of());
    }
}
