package dev.projectord.mongo;

import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** A server on a free port and a client connected to it, closed together. */
final class TestServer implements AutoCloseable {

    private static final AtomicInteger DATABASES = new AtomicInteger();

    final EmbeddedMongo.Running running;
    final MongoClient client;

    private TestServer(EmbeddedMongo.Running running) {
        this.running = running;
        this.client = MongoClients.create(MongoClientSettings.builder()
            .applyConnectionString(new ConnectionString(
                "mongodb://127.0.0.1:" + running.address().getPort() + "/?directConnection=true"))
            .applyToSocketSettings(s -> s.readTimeout(30, TimeUnit.SECONDS))
            .build());
    }

    static TestServer start() {
        return start(ReplicaSetBackend.Settings.defaults());
    }

    static TestServer start(ReplicaSetBackend.Settings settings) {
        return new TestServer(EmbeddedMongo.start("127.0.0.1", 0, settings));
    }

    /** A database of its own for one test. */
    MongoDatabase freshDatabase() {
        return client.getDatabase("t" + DATABASES.incrementAndGet());
    }

    OrderedOplog oplog() {
        return (OrderedOplog) running.backend().oplog();
    }

    @Override
    public void close() {
        client.close();
        running.close();
    }
}
