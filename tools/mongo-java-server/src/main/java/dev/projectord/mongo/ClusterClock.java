package dev.projectord.mongo;

import java.time.Instant;
import java.util.function.LongSupplier;

import de.bwaldvogel.mongo.bson.BsonTimestamp;

/**
 * The cluster time of a one-member replica set: BSON timestamps (seconds, increment) that never go
 * backwards, even when the wall clock does. A new second starts at increment 1; a wall clock that
 * stands still or steps back keeps the last second and counts the increment up. Upstream's oplog
 * clock reads the wall clock for each entry, so a clock step back sorted new entries below
 * positions already delivered.
 *
 * <p>Not synchronised: the oplog calls it under its append lock.
 */
final class ClusterClock {

    private final LongSupplier wallMillis;
    private long seconds;
    private long increment;

    ClusterClock(LongSupplier wallMillis) {
        this.wallMillis = wallMillis;
    }

    static ClusterClock system() {
        return new ClusterClock(System::currentTimeMillis);
    }

    /** The next timestamp, after every one handed out before. */
    BsonTimestamp next() {
        long now = Math.floorDiv(wallMillis.getAsLong(), 1000);
        if (now > seconds) {
            seconds = now;
            increment = 1;
        } else if (increment == 0xFFFF_FFFFL) {
            seconds++;
            increment = 1;
        } else {
            increment++;
        }
        return timestamp(seconds, increment);
    }

    /** The wall clock now, for an entry's wallTime (informational, may go backwards). */
    Instant wallTime() {
        return Instant.ofEpochMilli(wallMillis.getAsLong());
    }

    /** A timestamp at the start of the current wall-clock second (increment 0, never handed out). */
    BsonTimestamp startOfNow() {
        long now = Math.max(seconds, Math.floorDiv(wallMillis.getAsLong(), 1000));
        return timestamp(now, 0);
    }

    static BsonTimestamp timestamp(long seconds, long increment) {
        return new BsonTimestamp((seconds << 32) | increment);
    }
}
