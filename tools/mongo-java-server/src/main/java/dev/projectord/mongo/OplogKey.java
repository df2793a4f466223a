package dev.projectord.mongo;

import de.bwaldvogel.mongo.bson.BsonTimestamp;

/**
 * A position in the oplog: the entry's cluster time, then its sequence number. Entries written by
 * one transaction commit share the cluster time and differ by sequence, as the operations of a
 * real commit share it and differ by their index in the transaction.
 */
record OplogKey(long time, long seq) implements Comparable<OplogKey> {

    /** Before every entry at or after {@code time}. */
    static OplogKey before(BsonTimestamp time) {
        return new OplogKey(time.getValue(), 0);
    }

    BsonTimestamp timestamp() {
        return new BsonTimestamp(time);
    }

    @Override
    public int compareTo(OplogKey other) {
        int c = Long.compareUnsigned(time, other.time);
        return c != 0 ? c : Long.compare(seq, other.seq);
    }

    boolean isBefore(OplogKey other) {
        return compareTo(other) < 0;
    }
}
