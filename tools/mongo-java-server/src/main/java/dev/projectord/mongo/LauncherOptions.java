package dev.projectord.mongo;

import java.util.List;
import java.util.Map;

/**
 * The launcher's command line: {@code [host] [port] [--oplog-max-entries N] [--replica-set NAME]}.
 * Each option may also come from the environment ({@code EMBEDDED_MONGO_OPLOG_MAX_ENTRIES},
 * {@code EMBEDDED_MONGO_REPLICA_SET}); the command line wins. Port 0 picks a free port.
 */
record LauncherOptions(String host, int port, ReplicaSetBackend.Settings settings) {

    static final String USAGE = "usage: EmbeddedMongo [host] [port] [--oplog-max-entries N] [--replica-set NAME]";

    /** A bad option: the launcher prints the message and exits with status 2. */
    static final class BadOption extends RuntimeException {
        private static final long serialVersionUID = 1L;

        BadOption(String message) {
            super(message + "\n" + USAGE);
        }
    }

    static LauncherOptions parse(List<String> args, Map<String, String> env) {
        String host = "127.0.0.1";
        int port = 0;
        ReplicaSetBackend.Settings settings = ReplicaSetBackend.Settings.defaults();
        String maxEntries = env.get("EMBEDDED_MONGO_OPLOG_MAX_ENTRIES");
        String replicaSet = env.get("EMBEDDED_MONGO_REPLICA_SET");
        int positional = 0;
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            switch (arg) {
                case "--oplog-max-entries" -> maxEntries = value(args, ++i, arg);
                case "--replica-set" -> replicaSet = value(args, ++i, arg);
                default -> {
                    if (arg.startsWith("--")) {
                        throw new BadOption("unknown option " + arg);
                    }
                    if (positional == 0) {
                        host = arg;
                    } else if (positional == 1) {
                        port = port(arg);
                    } else {
                        throw new BadOption("unexpected argument " + arg);
                    }
                    positional++;
                }
            }
        }
        if (maxEntries != null) {
            settings = settings.withOplogMaxEntries(positiveLong(maxEntries, "--oplog-max-entries"));
        }
        if (replicaSet != null) {
            if (!replicaSet.matches("[A-Za-z0-9_-]{1,64}")) {
                throw new BadOption("--replica-set must be 1 to 64 letters, digits, '_' or '-', got '" + replicaSet + "'");
            }
            settings = settings.withReplicaSetName(replicaSet);
        }
        return new LauncherOptions(host, port, settings);
    }

    private static String value(List<String> args, int i, String option) {
        if (i >= args.size()) {
            throw new BadOption(option + " needs a value");
        }
        return args.get(i);
    }

    private static int port(String text) {
        try {
            int port = Integer.parseInt(text);
            if (port >= 0 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new BadOption("port must be a number from 0 to 65535, got '" + text + "'");
    }

    private static long positiveLong(String text, String option) {
        try {
            long value = Long.parseLong(text.trim());
            if (value >= 1) {
                return value;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new BadOption(option + " must be a whole number of at least 1, got '" + text + "'");
    }
}
