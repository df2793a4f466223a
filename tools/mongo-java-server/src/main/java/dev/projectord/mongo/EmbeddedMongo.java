package dev.projectord.mongo;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;

/**
 * Launcher for projectord's embedded MongoDB fallback: mongo-java-server's in-memory backend as a
 * one-member replica set ({@link ReplicaSetBackend}).
 *
 * <p>Contract with the Node side (src/mongo/javaServer.ts):
 * <ul>
 *   <li>arguments: see {@link LauncherOptions} (host, port — 0 picks a free one — and options);
 *   a bad one prints the reason on stderr and exits with status 2;</li>
 *   <li>prints exactly one line {@code LISTENING host:port} on stdout once bound;</li>
 *   <li>exits when its stdin reaches EOF, so it never outlives the process that started it, even
 *   when that process is SIGKILLed.</li>
 * </ul>
 *
 * <p>The official Node driver 7 refuses wire versions below 9 and upstream's built-in versions
 * report at most 8, so the backend announces 6.0.0 / wire version 17.
 */
public final class EmbeddedMongo {

    private EmbeddedMongo() {
    }

    static final class Version6 implements MongoVersion {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(6, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 17;
        }
    }

    /** A started server; {@link #close()} stops it. */
    record Running(MongoServer server, ReplicaSetBackend backend, InetSocketAddress address) implements AutoCloseable {
        @Override
        public void close() {
            server.shutdownNow();
        }
    }

    static Running start(String host, int port, ReplicaSetBackend.Settings settings) {
        ReplicaSetBackend backend = new ReplicaSetBackend(settings);
        backend.version(new Version6());
        MongoServer server = new MongoServer(backend);
        server.enableOplog();
        server.bind(host, port);
        InetSocketAddress address = server.getLocalAddress();
        backend.advertise(address.getHostString(), address.getPort());
        return new Running(server, backend, address);
    }

    public static void main(String[] args) throws Exception {
        LauncherOptions options;
        try {
            options = LauncherOptions.parse(List.of(args), Map.copyOf(System.getenv()));
        } catch (LauncherOptions.BadOption e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        Running running = start(options.host(), options.port(), options.settings());
        System.out.println("LISTENING " + running.address().getHostString() + ":" + running.address().getPort());
        System.out.flush();

        Runtime.getRuntime().addShutdownHook(new Thread(running::close));
        // Block until the parent closes our stdin (exit, crash or kill): then stop.
        while (System.in.read() != -1) {
            // ignore any input
        }
        running.close();
        System.exit(0);
    }
}
