package dev.projectord.mongo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class LauncherOptionsTest {

    @Test
    void defaultsToALocalReplicaSetOnAFreePort() {
        LauncherOptions options = LauncherOptions.parse(List.of(), Map.of());
        assertEquals("127.0.0.1", options.host());
        assertEquals(0, options.port());
        assertEquals("rs0", options.settings().replicaSetName());
        assertEquals(1_000_000, options.settings().oplogMaxEntries());
    }

    @Test
    void readsArgumentsAndTheEnvironmentTheCommandLineWinning() {
        LauncherOptions options = LauncherOptions.parse(
            List.of("0.0.0.0", "27018", "--oplog-max-entries", "500"),
            Map.of("EMBEDDED_MONGO_OPLOG_MAX_ENTRIES", "7", "EMBEDDED_MONGO_REPLICA_SET", "test-rs"));
        assertEquals("0.0.0.0", options.host());
        assertEquals(27018, options.port());
        assertEquals(500, options.settings().oplogMaxEntries());
        assertEquals("test-rs", options.settings().replicaSetName());
        assertEquals(7, LauncherOptions.parse(List.of(), Map.of("EMBEDDED_MONGO_OPLOG_MAX_ENTRIES", "7"))
            .settings().oplogMaxEntries());
    }

    @Test
    void refusesBadValuesNamingTheOption() {
        for (List<String> bad : List.of(List.of("--oplog-max-entries", "0"), List.of("--oplog-max-entries", "lots"),
            List.of("--oplog-max-entries"), List.of("--replica-set", "a b"), List.of("--verbose"),
            List.of("localhost", "70000"), List.of("localhost", "1", "extra"))) {
            LauncherOptions.BadOption e = assertThrows(LauncherOptions.BadOption.class,
                () -> LauncherOptions.parse(bad, Map.of()), bad.toString());
            assertTrue(e.getMessage().contains("usage:"), e.getMessage());
        }
        assertThrows(LauncherOptions.BadOption.class,
            () -> LauncherOptions.parse(List.of(), Map.of("EMBEDDED_MONGO_OPLOG_MAX_ENTRIES", "-3")));
    }
}
