package dev.projectord.mongo;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;

import de.bwaldvogel.mongo.backend.Cursor;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;

import dev.projectord.mongo.OplogEntry.Kind;
import dev.projectord.mongo.OplogEntry.Namespace;
import dev.projectord.mongo.OplogEntry.Pending;

/**
 * The replica set's operation log, kept in memory: entries in a sorted map by (cluster time,
 * sequence), appended under one lock with a {@link ClusterClock}, read without locking.
 *
 * <p>Compared with upstream's collection-backed oplog: a change-stream read costs what follows
 * its position, not the whole log; collections record their writes while they still hold their
 * own lock, so the log has one collection's writes in the order they were applied; only the
 * newest {@code maxEntries} entries are kept, and a stream that needs older ones fails with
 * ChangeStreamHistoryLost (286), as on a real server whose oplog rolled over.
 */
public final class OrderedOplog implements Oplog {

    private final ClusterClock clock;
    private final CursorRegistry cursorRegistry;
    private final DocumentLookup lookup;
    private final long maxEntries;
    private final ReentrantLock appendLock = new ReentrantLock();
    private final ConcurrentSkipListMap<OplogKey, OplogEntry> entries = new ConcurrentSkipListMap<>();
    private final List<Runnable> appendListeners = new CopyOnWriteArrayList<>();
    private long seq;
    private long size;
    private volatile OplogKey last;
    private volatile OplogKey trimmedThrough;

    /** Finds a document's current version by id, for {@code fullDocument: "updateLookup"}. */
    @FunctionalInterface
    public interface DocumentLookup {
        Document find(Namespace ns, Object id);
    }

    public OrderedOplog(ClusterClock clock, CursorRegistry cursorRegistry, DocumentLookup lookup, long maxEntries) {
        if (maxEntries < 1) {
            throw new IllegalArgumentException("maxEntries must be at least 1, got " + maxEntries);
        }
        this.clock = clock;
        this.cursorRegistry = cursorRegistry;
        this.lookup = lookup;
        this.maxEntries = maxEntries;
    }

    /** Called after each append (outside the lock); must not block. */
    void onAppend(Runnable listener) {
        appendListeners.add(listener);
    }

    @Override
    public void handleInsert(String namespace, List<Document> documents) {
        Namespace ns = Namespace.parse(namespace);
        if (ns.isInternal()) {
            return;
        }
        for (Document document : documents) {
            append(List.of(Pending.insert(ns, document)), false);
        }
    }

    @Override
    public void handleUpdate(String namespace, Document selector, Document update, List<Object> modifiedIds) {
        Namespace ns = Namespace.parse(namespace);
        if (ns.isInternal()) {
            return;
        }
        boolean replacement = update.keySet().stream().noneMatch(key -> key.startsWith("$"));
        Document copy = update.cloneDeeply();
        for (Object id : modifiedIds) {
            append(List.of(new Pending(replacement ? Kind.REPLACE : Kind.UPDATE, ns, id, copy, null)), false);
        }
    }

    @Override
    public void handleDelete(String namespace, Document query, List<Object> deletedIds) {
        Namespace ns = Namespace.parse(namespace);
        if (ns.isInternal()) {
            return;
        }
        for (Object id : deletedIds) {
            append(List.of(new Pending(Kind.DELETE, ns, id, null, null)), false);
        }
    }

    @Override
    public void handleDropCollection(String namespace) {
        Namespace ns = Namespace.parse(namespace);
        if (!ns.isInternal()) {
            append(List.of(new Pending(Kind.DROP, ns, null, null, null)), false);
        }
    }

    void handleRename(String from, String to) {
        Namespace source = Namespace.parse(from);
        if (!source.isInternal()) {
            append(List.of(new Pending(Kind.RENAME, source, null, null, Namespace.parse(to))), false);
        }
    }

    void handleDropDatabase(String databaseName) {
        Namespace ns = new Namespace(databaseName, null);
        if (!ns.isInternal()) {
            append(List.of(new Pending(Kind.DROP_DATABASE, ns, null, null, null)), false);
        }
    }

    /**
     * Appends entries; with {@code oneClusterTime} they all get the same cluster time (a
     * transaction commit) and consecutive sequence numbers.
     */
    void append(List<Pending> pending, boolean oneClusterTime) {
        if (pending.isEmpty()) {
            return;
        }
        appendLock.lock();
        try {
            BsonTimestamp shared = oneClusterTime ? clock.next() : null;
            OplogKey key = null;
            for (Pending p : pending) {
                BsonTimestamp time = shared != null ? shared : clock.next();
                key = new OplogKey(time.getValue(), ++seq);
                entries.put(key, p.at(key, clock.wallTime()));
                size++;
            }
            last = key;
            while (size > maxEntries) {
                trimmedThrough = entries.pollFirstEntry().getKey();
                size--;
            }
        } finally {
            appendLock.unlock();
        }
        for (Runnable listener : appendListeners) {
            listener.run();
        }
    }

    /** The newest entry's key, or a key before anything still to come when there is none. */
    OplogKey head() {
        OplogKey newest = last;
        if (newest != null) {
            return newest;
        }
        appendLock.lock();
        try {
            return last != null ? last : OplogKey.before(clock.startOfNow());
        } finally {
            appendLock.unlock();
        }
    }

    /** The cluster time of the newest entry (or of now, before the first): a reply's operationTime. */
    BsonTimestamp clusterTime() {
        return head().timestamp();
    }

    /** The newest key dropped to keep the log bounded; null while nothing was dropped. */
    OplogKey trimmedThrough() {
        return trimmedThrough;
    }

    /** Entries after {@code position}, oldest first. */
    Collection<OplogEntry> after(OplogKey position) {
        return entries.tailMap(position, false).values();
    }

    OplogEntry at(OplogKey key) {
        return entries.get(key);
    }

    /** Number of entries kept. */
    long size() {
        appendLock.lock();
        try {
            return size;
        } finally {
            appendLock.unlock();
        }
    }

    /** Oldest entry kept, for diagnostics and tests. */
    OplogKey oldest() {
        Map.Entry<OplogKey, OplogEntry> first = entries.firstEntry();
        return first == null ? null : first.getKey();
    }

    Document lookUp(Namespace ns, Object id) {
        return lookup.find(ns, id);
    }

    ClusterClock clock() {
        return clock;
    }

    /** Upstream's entry point for a collection-level stream (`db.coll.watch()`). */
    @Override
    public Cursor createCursor(Document changeStreamDocument, String namespace, Aggregation aggregation) {
        return openCursor(changeStreamDocument, ChangeStreamCursor.Scope.of(Namespace.parse(namespace)), aggregation);
    }

    ChangeStreamCursor openCursor(Document changeStreamDocument, ChangeStreamCursor.Scope scope,
                                  Aggregation aggregation) {
        ChangeStreamCursor cursor = ChangeStreamCursor.open(cursorRegistry, this, scope, changeStreamDocument,
            aggregation);
        cursorRegistry.add(cursor);
        return cursor;
    }

    /** For tests: a copy of the keys in order. */
    List<OplogKey> keys() {
        NavigableMap<OplogKey, OplogEntry> view = entries;
        return new ArrayList<>(view.keySet());
    }
}
