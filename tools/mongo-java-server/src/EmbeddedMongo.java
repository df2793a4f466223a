import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * Launcher for projectord's embedded MongoDB fallback (mongo-java-server, in-memory backend).
 *
 * Contract with the Node side (src/mongo/javaServer.ts):
 *  - args: host port (port 0 = pick a free one);
 *  - prints exactly one line "LISTENING host:port" on stdout once bound;
 *  - exits when its stdin reaches EOF, so it never outlives the process that started it,
 *    even when that process is SIGKILLed.
 *
 * The official Node driver 7 refuses wire versions below 9 and the built-in ServerVersion values
 * report at most 8, so the backend announces 6.0.0 / wire version 17. The oplog is enabled because
 * change streams need it.
 */
public final class EmbeddedMongo {
  private static final class Version6 implements MongoVersion {
    @Override
    public List<Integer> getVersionArray() {
      return List.of(6, 0, 0);
    }

    @Override
    public int getWireVersion() {
      return 17;
    }
  }

  public static void main(String[] args) throws Exception {
    String host = args.length > 0 ? args[0] : "127.0.0.1";
    int port = args.length > 1 ? Integer.parseInt(args[1]) : 0;

    MemoryBackend backend = new MemoryBackend();
    backend.version(new Version6());
    MongoServer server = new MongoServer(backend);
    server.enableOplog();
    server.bind(host, port);
    InetSocketAddress address = server.getLocalAddress();
    System.out.println("LISTENING " + address.getHostString() + ":" + address.getPort());
    System.out.flush();

    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
    // Block until the parent closes our stdin (exit, crash or kill): then stop.
    while (System.in.read() != -1) {
      // ignore any input
    }
    server.shutdownNow();
    System.exit(0);
  }
}
