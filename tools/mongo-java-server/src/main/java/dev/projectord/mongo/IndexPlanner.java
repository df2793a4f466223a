package dev.projectord.mongo;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.function.IntFunction;
import java.util.regex.Pattern;

import de.bwaldvogel.mongo.backend.DocumentComparator;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.bson.BsonRegularExpression;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.MaxKey;
import de.bwaldvogel.mongo.bson.MinKey;

/**
 * Chooses how a query reads a collection: which {@link OrderedIndex} gives its candidates, and
 * whether walking that index already yields the requested sort order (so a limit stops the walk).
 *
 * <p>An index is usable when the filter has plain equality ({@code v}, {@code {$eq: v}} or
 * {@code {$in: [...]}}) on its leading key(s), or a range ({@code $gt}, {@code $gte}, {@code $lt},
 * {@code $lte}) on its first key not fixed by equality. Candidates are always a superset of the
 * matches: the collection re-applies the whole filter, so conditions the plan ignores ({@code $or},
 * {@code $ne}, regular expressions, ...) stay correct, only slower. Top-level {@code $and} is
 * flattened; an {@code $or} (at the top or in a top-level {@code $and}) is read branch by branch
 * when each branch has a plan. Null, arrays, sub-documents and regular expressions are never used as keys (their
 * match rules differ from key equality), and ranges are not used on multikey indexes (each bound
 * may be met by a different array element).
 */
final class IndexPlanner {

    /** Beyond this many equality combinations ($in × $in ...) the prefix is cut short. */
    private static final int MAX_COMBINATIONS = 1000;

    private IndexPlanner() {
    }

    /**
     * Candidate positions, and whether they come in the requested sort order. {@code index} is
     * null for the union of an {@code $or}'s branches.
     */
    record Plan(OrderedIndex index, Iterable<Integer> positions, boolean ordered) {
    }

    /** What a filter says about one field. */
    private static final class Condition {
        List<Object> equals;
        Object lower;
        boolean lowerInclusive;
        Object upper;
        boolean upperInclusive;

        boolean hasRange() {
            return lower != null || upper != null;
        }

        /** Both conditions at once: either one's candidates are a superset, keep the first's. */
        Condition and(Condition other) {
            Condition both = new Condition();
            both.equals = equals != null ? equals : other.equals;
            both.lower = lower != null ? lower : other.lower;
            both.lowerInclusive = lower != null ? lowerInclusive : other.lowerInclusive;
            both.upper = upper != null ? upper : other.upper;
            both.upperInclusive = upper != null ? upperInclusive : other.upperInclusive;
            return both;
        }
    }

    /**
     * The best plan, or null when no index helps (the collection scans). A top-level {@code $or}
     * whose every branch has an index plan (with the conditions beside the {@code $or}) is read
     * as the union of the branches, merged in sort order when each branch walks in it.
     * {@code documents} gives a position's document (to merge by the sort).
     */
    static Plan plan(Document query, Document orderBy, List<OrderedIndex> indexes, IntFunction<Document> documents) {
        if (orderBy != null && orderBy.containsKey("$natural")) {
            return null;
        }
        Document filter = query == null ? new Document() : query;
        Map<String, Condition> conditions = new LinkedHashMap<>();
        collect(filter, conditions);
        Candidate best = best(indexes, conditions, orderBy);
        List<?> branches = firstOr(filter);
        Plan union = branches == null ? null
            : union(branches, conditions, orderBy, indexes, documents, best == null ? -1 : best.score());
        if (union != null) {
            return union;
        }
        return best == null ? null : best.toPlan();
    }

    /** The branches of the filter's {@code $or}, at the top or in a top-level {@code $and}; null if none. */
    private static List<?> firstOr(Document filter) {
        if (filter.get("$or") instanceof List<?> branches) {
            return branches;
        }
        if (filter.get("$and") instanceof List<?> parts) {
            for (Object part : parts) {
                if (part instanceof Document document && firstOr(document) != null) {
                    return firstOr(document);
                }
            }
        }
        return null;
    }

    private static Candidate best(List<OrderedIndex> indexes, Map<String, Condition> conditions, Document orderBy) {
        Candidate best = null;
        for (OrderedIndex index : indexes) {
            Candidate candidate = Candidate.of(index, conditions, orderBy);
            if (candidate != null && (best == null || candidate.score() > best.score())) {
                best = candidate;
            }
        }
        return best;
    }

    /** One plan per branch, all better than {@code toBeat}, or null. */
    private static Plan union(List<?> branches, Map<String, Condition> common, Document orderBy,
                              List<OrderedIndex> indexes, IntFunction<Document> documents, int toBeat) {
        if (branches.isEmpty()) {
            return null;
        }
        List<Plan> plans = new ArrayList<>();
        boolean ordered = orderBy != null && !orderBy.isEmpty();
        for (Object branch : branches) {
            if (!(branch instanceof Document branchFilter)) {
                return null;
            }
            Map<String, Condition> conditions = new LinkedHashMap<>(common);
            collect(branchFilter, conditions);
            Candidate candidate = best(indexes, conditions, orderBy);
            if (candidate == null || !candidate.filtered() || candidate.score() <= toBeat) {
                return null;
            }
            plans.add(candidate.toPlan());
            ordered &= candidate.ordered();
        }
        Comparator<Document> order = ordered ? new DocumentComparator(orderBy) : null;
        Iterable<Integer> positions = () -> {
            List<Iterator<Integer>> parts = new ArrayList<>();
            for (Plan plan : plans) {
                parts.add(plan.positions().iterator());
            }
            Iterator<Integer> all = order != null ? new Merge(parts, documents, order) : new Concat(parts.iterator());
            return new Distinct(all);
        };
        return new Plan(null, positions, ordered);
    }

    private static void collect(Document query, Map<String, Condition> out) {
        for (Map.Entry<String, Object> entry : query.entrySet()) {
            String field = entry.getKey();
            Object value = entry.getValue();
            if (field.equals("$and") && value instanceof Collection<?> parts) {
                for (Object part : parts) {
                    if (part instanceof Document document) {
                        collect(document, out);
                    }
                }
            } else if (!field.startsWith("$")) {
                Condition condition = condition(value);
                if (condition != null) {
                    out.merge(field, condition, Condition::and);
                }
            }
        }
    }

    private static Condition condition(Object value) {
        Condition condition = new Condition();
        if (isKey(value)) {
            condition.equals = List.of(value);
            return condition;
        }
        if (!(value instanceof Document operators) || operators.isEmpty()
            || !operators.keySet().iterator().next().startsWith("$")) {
            return null;
        }
        for (Map.Entry<String, Object> op : operators.entrySet()) {
            Object operand = op.getValue();
            switch (op.getKey()) {
                case "$eq" -> {
                    if (isKey(operand)) {
                        condition.equals = List.of(operand);
                    }
                }
                case "$in" -> {
                    if (operand instanceof Collection<?> values && values.stream().allMatch(IndexPlanner::isKey)) {
                        condition.equals = new ArrayList<>(values);
                    }
                }
                case "$gt", "$gte" -> {
                    if (isKey(operand)) {
                        condition.lower = operand;
                        condition.lowerInclusive = op.getKey().equals("$gte");
                    }
                }
                case "$lt", "$lte" -> {
                    if (isKey(operand)) {
                        condition.upper = operand;
                        condition.upperInclusive = op.getKey().equals("$lte");
                    }
                }
                default -> {
                    // not used for candidates; the collection still applies it
                }
            }
        }
        return condition.equals != null || condition.hasRange() ? condition : null;
    }

    /** Values whose equality and order are plain key comparisons. */
    private static boolean isKey(Object value) {
        return value != null && !(value instanceof Missing) && !(value instanceof Collection)
            && !(value instanceof Map) && !(value instanceof BsonRegularExpression)
            && !(value instanceof Pattern) && !(value instanceof MinKey) && !(value instanceof MaxKey);
    }

    /** One index considered for one query. */
    private record Candidate(OrderedIndex index, List<List<Object>> prefix, Condition range,
                             boolean ordered, boolean reverse) {

        static Candidate of(OrderedIndex index, Map<String, Condition> conditions, Document orderBy) {
            List<List<Object>> prefix = new ArrayList<>();
            long combinations = 1;
            for (int i = 0; i < index.keyCount(); i++) {
                IndexKey key = index.key(i);
                Condition c = conditions.get(key.getKey());
                if (c == null || c.equals == null || combinations * c.equals.size() > MAX_COMBINATIONS) {
                    break;
                }
                List<Object> values = new ArrayList<>(c.equals);
                values.sort(OrderedIndex.valueOrder(key.isAscending()));
                prefix.add(values);
                combinations *= Math.max(1, values.size());
            }
            Condition range = null;
            if (prefix.size() < index.keyCount() && !index.isMultikey()) {
                Condition c = conditions.get(index.key(prefix.size()).getKey());
                if (c != null && c.hasRange()) {
                    range = c;
                }
            }
            boolean filtered = !prefix.isEmpty() || range != null;
            Boolean direction = sortDirection(index, orderBy, prefix, filtered);
            if (!filtered && direction == null) {
                return null;
            }
            return new Candidate(index, prefix, range, direction != null, Boolean.FALSE.equals(direction));
        }

        /**
         * TRUE when walking the index forwards gives {@code orderBy}, FALSE when backwards, null
         * when neither (or nothing to sort).
         */
        private static Boolean sortDirection(OrderedIndex index, Document orderBy, List<List<Object>> prefix,
                                             boolean filtered) {
            if (orderBy == null || orderBy.isEmpty() || index.isMultikey() || (index.sparse() && !filtered)) {
                return null;
            }
            for (List<Object> values : prefix) {
                if (values.size() > 1) {
                    return null;
                }
            }
            Set<String> fixed = new LinkedHashSet<>();
            for (int i = 0; i < prefix.size(); i++) {
                fixed.add(index.key(i).getKey());
            }
            Boolean forward = null;
            int next = prefix.size();
            for (Map.Entry<String, Object> sort : orderBy.entrySet()) {
                if (fixed.contains(sort.getKey())) {
                    continue;
                }
                if (next >= index.keyCount() || !index.key(next).getKey().equals(sort.getKey())
                    || !(sort.getValue() instanceof Number n)) {
                    return null;
                }
                boolean same = (n.doubleValue() > 0) == index.key(next).isAscending();
                if (forward != null && forward != same) {
                    return null;
                }
                forward = same;
                next++;
            }
            return forward == null ? Boolean.TRUE : forward;
        }

        boolean filtered() {
            return !prefix.isEmpty() || range != null;
        }

        int score() {
            int score = prefix.size() * 4 + (range != null ? 2 : 0) + (ordered ? 1 : 0);
            if (index.isUnique() && prefix.size() == index.keyCount()) {
                score += 1000;
            }
            return score;
        }

        Plan toPlan() {
            List<List<Object>> combinations = combinations();
            boolean dedupe = combinations.size() > 1 || index.isMultikey();
            Iterable<Integer> positions = () -> {
                Iterator<Integer> all = new Concat(combinations.stream()
                    .map(this::scan)
                    .iterator());
                return dedupe ? new Distinct(all) : all;
            };
            return new Plan(index, positions, ordered);
        }

        private Iterator<Integer> scan(List<Object> values) {
            boolean ascending = range == null || index.key(prefix.size()).isAscending();
            List<Object> from = new ArrayList<>(values);
            List<Object> to = new ArrayList<>(values);
            if (range == null) {
                from.add(OrderedIndex.LOW);
                to.add(OrderedIndex.HIGH);
            } else {
                Object low = ascending ? range.lower : range.upper;
                boolean lowInclusive = ascending ? range.lowerInclusive : range.upperInclusive;
                Object high = ascending ? range.upper : range.lower;
                boolean highInclusive = ascending ? range.upperInclusive : range.lowerInclusive;
                bound(from, low, lowInclusive ? OrderedIndex.LOW : OrderedIndex.HIGH, OrderedIndex.LOW);
                bound(to, high, highInclusive ? OrderedIndex.HIGH : OrderedIndex.LOW, OrderedIndex.HIGH);
            }
            return index.scan(from, to, reverse);
        }

        private static void bound(List<Object> bound, Object value, Object filler, Object open) {
            if (value == null) {
                bound.add(open);
            } else {
                bound.add(value);
                bound.add(filler);
            }
        }

        private List<List<Object>> combinations() {
            List<List<Object>> result = new ArrayList<>();
            result.add(List.of());
            for (List<Object> values : prefix) {
                List<List<Object>> next = new ArrayList<>();
                for (List<Object> head : result) {
                    for (Object value : values) {
                        List<Object> combination = new ArrayList<>(head);
                        combination.add(value);
                        next.add(combination);
                    }
                }
                result = next;
            }
            return result;
        }
    }

    /** The iterators one after the other. */
    private static final class Concat implements Iterator<Integer> {
        private final Iterator<Iterator<Integer>> parts;
        private Iterator<Integer> current = java.util.Collections.emptyIterator();

        Concat(Iterator<Iterator<Integer>> parts) {
            this.parts = parts;
        }

        @Override
        public boolean hasNext() {
            while (!current.hasNext() && parts.hasNext()) {
                current = parts.next();
            }
            return current.hasNext();
        }

        @Override
        public Integer next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            return current.next();
        }
    }

    /** Several ascending sequences as one, by the documents' sort order. */
    private static final class Merge implements Iterator<Integer> {
        private final IntFunction<Document> documents;
        private final PriorityQueue<Head> heads;

        private record Head(Integer position, Document document, Iterator<Integer> rest) {
        }

        Merge(List<Iterator<Integer>> parts, IntFunction<Document> documents, Comparator<Document> order) {
            this.documents = documents;
            this.heads = new PriorityQueue<>(Math.max(1, parts.size()), (a, b) -> order.compare(a.document(), b.document()));
            parts.forEach(this::advance);
        }

        private void advance(Iterator<Integer> part) {
            if (part.hasNext()) {
                Integer position = part.next();
                heads.add(new Head(position, documents.apply(position), part));
            }
        }

        @Override
        public boolean hasNext() {
            return !heads.isEmpty();
        }

        @Override
        public Integer next() {
            Head head = heads.poll();
            if (head == null) {
                throw new NoSuchElementException();
            }
            advance(head.rest());
            return head.position();
        }
    }

    /** Each position once (a multikey document has several entries). */
    private static final class Distinct implements Iterator<Integer> {
        private final Iterator<Integer> source;
        private final Set<Integer> seen = new java.util.HashSet<>();
        private Integer pending;

        Distinct(Iterator<Integer> source) {
            this.source = source;
        }

        @Override
        public boolean hasNext() {
            while (pending == null && source.hasNext()) {
                Integer candidate = source.next();
                if (seen.add(candidate)) {
                    pending = candidate;
                }
            }
            return pending != null;
        }

        @Override
        public Integer next() {
            if (!hasNext()) {
                throw new NoSuchElementException();
            }
            Integer result = pending;
            pending = null;
            return result;
        }
    }
}
