package dev.projectord.mongo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.ValueComparator;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.exception.DuplicateKeyError;
import de.bwaldvogel.mongo.exception.KeyConstraintError;

/**
 * An in-memory B-tree-like index (a sorted map) over one or more keys, unique or not, sparse or
 * not. Entries are ordered by the key values in BSON order (each key ascending or descending as
 * declared), then by the document's {@code _id}, the way a real index orders entries by key then
 * record id. That makes every entry addressable from the document alone, so a document is found,
 * moved and removed without scanning.
 *
 * <p>The upstream memory backend keeps unique indexes in a hash map (usable only for an exact
 * match on every key) and ignores non-unique ones; this one serves equality on leading keys, a
 * range on the next key, and walks in key order for sorts. {@link IndexPlanner} decides when.
 *
 * <p>Not thread-safe on its own: the collection calls it under its lock.
 */
public final class OrderedIndex extends Index<Integer> {

    /** Sorts before every value, whatever the key's direction. */
    static final Object LOW = new Object() {
        @Override
        public String toString() {
            return "LOW";
        }
    };

    /** Sorts after every value, whatever the key's direction. */
    static final Object HIGH = new Object() {
        @Override
        public String toString() {
            return "HIGH";
        }
    };

    private final boolean unique;
    private final String idField;
    private final NavigableMap<Entry, Integer> entries;
    private boolean multikey;

    /** One index entry: the key values (one per index key) and the document's id. */
    record Entry(List<Object> values, Object id) {
    }

    public OrderedIndex(String name, List<IndexKey> keys, boolean sparse, boolean unique, String idField) {
        super(name, keys, sparse);
        this.unique = unique;
        this.idField = Objects.requireNonNull(idField, "an ordered index needs documents with an id field");
        this.entries = new TreeMap<>(entryOrder(keys));
    }

    private static Comparator<Entry> entryOrder(List<IndexKey> keys) {
        boolean[] ascending = new boolean[keys.size()];
        for (int i = 0; i < ascending.length; i++) {
            ascending[i] = keys.get(i).isAscending();
        }
        return (a, b) -> {
            for (int i = 0; i < ascending.length; i++) {
                Object x = a.values().get(i);
                Object y = b.values().get(i);
                // The sentinels bound ranges whatever the direction.
                int c = x == LOW || x == HIGH || y == LOW || y == HIGH || ascending[i]
                    ? compareValues(x, y) : -compareValues(x, y);
                if (c != 0) {
                    return c;
                }
            }
            return compareValues(a.id(), b.id());
        };
    }

    /** BSON order in the given direction; {@link #LOW} and {@link #HIGH} stay at the ends. */
    static Comparator<Object> valueOrder(boolean ascending) {
        return ascending ? OrderedIndex::compareValues : (a, b) -> -compareValues(a, b);
    }

    private static final ValueComparator BSON_ORDER = ValueComparator.ascWithoutListHandling();

    /**
     * BSON order, with the common cases (two strings, two doubles or ints, two ObjectIds) compared
     * directly; everything else (mixed types, longs beyond a double's precision, documents...)
     * goes to upstream's {@link ValueComparator}, which defines the order.
     */
    static int compareValues(Object a, Object b) {
        if (a == b) {
            return 0;
        }
        if (a == LOW || b == HIGH) {
            return -1;
        }
        if (a == HIGH || b == LOW) {
            return 1;
        }
        if (a instanceof String x && b instanceof String y) {
            return x.compareTo(y);
        }
        if (a instanceof ObjectId x && b instanceof ObjectId y) {
            return x.compareTo(y);
        }
        if ((a instanceof Double || a instanceof Integer) && (b instanceof Double || b instanceof Integer)) {
            return Double.compare(((Number) a).doubleValue() + 0.0, ((Number) b).doubleValue() + 0.0);
        }
        return BSON_ORDER.compare(a, b);
    }

    /** True when two key values are equal in BSON order (1 and 1.0 are). */
    private static boolean sameKeys(List<Object> a, List<Object> b) {
        for (int i = 0; i < a.size(); i++) {
            if (compareValues(a.get(i), b.get(i)) != 0) {
                return false;
            }
        }
        return true;
    }

    @Override
    public boolean isUnique() {
        return unique;
    }

    @Override
    public boolean hasSameOptions(Index<?> other) {
        return super.hasSameOptions(other) && other.isUnique() == unique;
    }

    /** True once a document had an array under one of the keys (several entries per document). */
    boolean isMultikey() {
        return multikey;
    }

    boolean sparse() {
        return isSparse();
    }

    int keyCount() {
        return getKeys().size();
    }

    IndexKey key(int i) {
        return getKeys().get(i);
    }

    private boolean skipped(Document document) {
        if (!isSparse()) {
            return false;
        }
        for (String key : keys()) {
            if (!(Utils.getSubdocumentValueCollectionAware(document, key) instanceof Missing)) {
                return false;
            }
        }
        return true;
    }

    private List<Entry> entriesOf(Document document) {
        if (skipped(document)) {
            return List.of();
        }
        Object id = document.get(idField);
        List<Object> values = rawValues(document);
        if (values != null) {
            return List.of(new Entry(values, id));
        }
        // Arrays under a key: upstream's key expansion (one entry per element, parallel arrays refused).
        Set<KeyValue> keyValues = getKeyValues(document);
        if (keyValues.isEmpty()) {
            // An empty array under a key: one entry, found by no equality (as a real index keys it
            // apart from every scalar).
            List<Object> empty = new ArrayList<>(keyCount());
            for (String key : keys()) {
                Object value = Utils.getSubdocumentValueCollectionAware(document, key);
                empty.add(value instanceof Missing ? null : value);
            }
            return List.of(new Entry(Collections.unmodifiableList(empty), id));
        }
        List<Entry> result = new ArrayList<>(keyValues.size());
        for (KeyValue keyValue : keyValues) {
            List<Object> expanded = new ArrayList<>(keyValue.size());
            keyValue.forEach(expanded::add);
            result.add(new Entry(Collections.unmodifiableList(expanded), id));
        }
        return result;
    }

    /** The document's value under each key (missing as null), or null when one is an array. */
    private List<Object> rawValues(Document document) {
        Object[] values = new Object[keyCount()];
        for (int i = 0; i < values.length; i++) {
            Object value = Utils.getSubdocumentValueCollectionAware(document, key(i).getKey());
            if (value instanceof java.util.Collection) {
                return null;
            }
            values[i] = value instanceof Missing ? null : value;
        }
        return Arrays.asList(values);
    }

    /** Whether an update changes what this index holds for the document. */
    private boolean sameEntries(Document oldDocument, Document newDocument) {
        if (skipped(oldDocument) != skipped(newDocument)) {
            return false;
        }
        List<Object> before = rawValues(oldDocument);
        List<Object> after = rawValues(newDocument);
        if (before != null && after != null) {
            return sameKeys(before, after);
        }
        return nullAwareEqualsKeys(oldDocument, newDocument);
    }

    /**
     * The first entry whose key another document already holds, or null. {@code self} is the id
     * of a document that is itself in the index (an update): its own entries do not count.
     */
    private Entry taken(List<Entry> candidates, Object self) {
        for (Entry entry : candidates) {
            // The entries with this key sit together; at most one is the document itself.
            Entry first = entries.ceilingKey(new Entry(entry.values(), LOW));
            if (first == null || !sameKeys(first.values(), entry.values())) {
                continue;
            }
            if (self == NOBODY || compareValues(first.id(), self) != 0) {
                return entry;
            }
            Entry second = entries.higherKey(first);
            if (second != null && sameKeys(second.values(), entry.values())) {
                return entry;
            }
        }
        return null;
    }

    /** For {@link #taken}: the document is not in the index yet. */
    private static final Object NOBODY = new Object();

    private void checkUnique(Document document, List<Entry> candidates, Object self,
                             MongoCollection<Integer> collection) {
        if (!unique || candidates.isEmpty()) {
            return;
        }
        Entry clash = taken(candidates, self);
        if (clash != null) {
            throw new KeyedDuplicateKeyError(this, collection, document, clash.values());
        }
    }

    @Override
    public Integer getPosition(Document document) {
        for (Entry entry : entriesOf(document)) {
            Integer position = entries.get(entry);
            if (position != null) {
                return position;
            }
        }
        return null;
    }

    @Override
    public void checkAdd(Document document, MongoCollection<Integer> collection) {
        checkUnique(document, entriesOf(document), NOBODY, collection);
    }

    @Override
    public void add(Document document, Integer position, MongoCollection<Integer> collection) {
        List<Entry> added = entriesOf(document);
        checkUnique(document, added, NOBODY, collection);
        if (added.size() > 1 || hasArrayValue(document)) {
            multikey = true;
        }
        for (Entry entry : added) {
            entries.put(entry, position);
        }
    }

    private boolean hasArrayValue(Document document) {
        for (String key : keys()) {
            if (Utils.getSubdocumentValueCollectionAware(document, key) instanceof java.util.Collection) {
                return true;
            }
        }
        return false;
    }

    @Override
    public Integer remove(Document document) {
        Integer position = null;
        for (Entry entry : entriesOf(document)) {
            Integer removed = entries.remove(entry);
            if (removed != null) {
                position = removed;
            }
        }
        return position;
    }

    @Override
    public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<Integer> collection) {
        if (unique && !sameEntries(oldDocument, newDocument)) {
            checkUnique(newDocument, entriesOf(newDocument), newDocument.get(idField), collection);
        }
    }

    @Override
    public void updateInPlace(Document oldDocument, Document newDocument, Integer position,
                              MongoCollection<Integer> collection) throws KeyConstraintError {
        if (sameEntries(oldDocument, newDocument)) {
            return;
        }
        remove(oldDocument);
        add(newDocument, position, collection);
    }

    /** Planner hook: the upstream collection asks this before scanning; this index is planned apart. */
    @Override
    public boolean canHandle(Document query) {
        return false;
    }

    @Override
    public Iterable<Integer> getPositions(Document query) {
        throw new UnsupportedOperationException("planned by IndexPlanner, not by canHandle/getPositions");
    }

    /**
     * Positions of the entries between two bounds in index order, lazily. Each bound lists values
     * for the leading keys (fewer than the index has: the rest is open) and ends with {@link #LOW}
     * or {@link #HIGH} to fall before or after every entry sharing those values.
     */
    Iterator<Integer> scan(List<Object> from, List<Object> to, boolean reverse) {
        NavigableMap<Entry, Integer> range = entries.subMap(bound(from), true, bound(to), true);
        return (reverse ? range.descendingMap() : range).values().iterator();
    }

    private Entry bound(List<Object> prefix) {
        Object filler = prefix.get(prefix.size() - 1);
        List<Object> values = new ArrayList<>(keyCount());
        for (int i = 0; i < keyCount(); i++) {
            values.add(i < prefix.size() - 1 ? prefix.get(i) : filler);
        }
        return new Entry(values, filler);
    }

    @Override
    public long getCount() {
        return entries.size();
    }

    @Override
    public long getDataSize() {
        return entries.size() * 64L;
    }

    @Override
    public void drop() {
        entries.clear();
    }

    /**
     * E11000 with the {@code keyPattern} and {@code keyValue} a real server adds to the write
     * error, so clients can tell which unique index refused the write.
     */
    static final class KeyedDuplicateKeyError extends DuplicateKeyError {

        private static final long serialVersionUID = 1L;

        private final transient Document keyPattern;
        private final transient Document keyValue;

        KeyedDuplicateKeyError(OrderedIndex index, MongoCollection<?> collection, Document document,
                               List<Object> values) {
            super(collection, index.getName() + " dup key: " + describe(index, document));
            this.keyPattern = new Document();
            this.keyValue = new Document();
            for (int i = 0; i < index.keyCount(); i++) {
                IndexKey key = index.key(i);
                keyPattern.put(key.getKey(), key.isAscending() ? 1 : -1);
                Object raw = Utils.getSubdocumentValueCollectionAware(document, key.getKey());
                keyValue.put(key.getKey(), raw instanceof java.util.Collection || raw instanceof Missing ? values.get(i) : raw);
            }
        }

        private static String describe(OrderedIndex index, Document document) {
            StringBuilder sb = new StringBuilder("{ ");
            for (int i = 0; i < index.keyCount(); i++) {
                String key = index.key(i).getKey();
                Object value = Utils.getSubdocumentValueCollectionAware(document, key);
                sb.append(i == 0 ? "" : ", ").append(key).append(": ")
                    .append(de.bwaldvogel.mongo.bson.Json.toCompactJsonValue(value instanceof Missing ? null : value));
            }
            return sb.append(" }").toString();
        }

        Document keyPattern() {
            return keyPattern;
        }

        Document keyValue() {
            return keyValue;
        }
    }
}
