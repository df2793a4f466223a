package dev.projectord.mongo;

import java.util.Locale;
import java.util.regex.Pattern;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;

/**
 * Change-stream resume tokens ({@code {_data: "<hex>"}}): the oplog key of the event (cluster
 * time, sequence) and whether it is an invalidate notification. Hex strings of fixed width, so
 * tokens sort as their events do. Clients treat them as opaque, as with a real server.
 */
record ResumeToken(OplogKey key, boolean invalidate) {

    private static final Pattern FORMAT = Pattern.compile("[0-9a-f]{16}[0-9a-f]{16}0[01]");

    static final int INVALID_RESUME_TOKEN = 260;

    Document toDocument() {
        return new Document("_data", String.format(Locale.ROOT, "%016x%016x%02x",
            key.time(), key.seq(), invalidate ? 1 : 0));
    }

    static ResumeToken parse(Object token) {
        Object data = token instanceof Document document ? document.get("_data") : null;
        if (!(data instanceof String hex) || !FORMAT.matcher(hex).matches()) {
            throw new MongoServerError(INVALID_RESUME_TOKEN, "InvalidResumeToken",
                "resume token " + token + " was not issued by this server (expected {_data: <34 hex digits>})");
        }
        long time = Long.parseUnsignedLong(hex.substring(0, 16), 16);
        long seq = Long.parseUnsignedLong(hex.substring(16, 32), 16);
        return new ResumeToken(new OplogKey(time, seq), hex.endsWith("1"));
    }
}
