import { afterAll, afterEach } from 'vitest';
import type { Config } from '../../src/config/schema.js';
import { toError } from '../../src/lib/errors.js';
import { runDaemon, type RunningDaemon } from '../../src/lifecycle/runDaemon.js';
import { silentLogger } from '../../src/observability/logger.js';
import { waitFor } from './mongo.js';

/**
 * `projectord run` in this process for a chosen set of modules (bankDaemon.ts waits for all
 * eight bank modules; a test of the projections alone enables only those, so no reaction
 * appends events the test did not script). `start` resolves once every enabled module is live.
 * Each daemon is stopped after the test that started it.
 */
export interface ProjectionDaemon {
  running: RunningDaemon;
  /** Throws the error the daemon stopped on, if it did (for waitFor checks). */
  assertAlive(): void;
  stop(): Promise<void>;
}

export function useProjectionDaemons(): {
  start(config: Config, modules: readonly string[]): Promise<ProjectionDaemon>;
} {
  const live = new Set<ProjectionDaemon>();
  const stopAll = async (): Promise<void> => {
    const all = [...live];
    live.clear();
    await Promise.all(all.map((d) => d.stop()));
  };
  afterEach(stopAll);
  afterAll(stopAll);
  return {
    async start(config, modules) {
      const running = await runDaemon({ config, logger: silentLogger() });
      let failed: Error | undefined;
      running.finished.catch((e: unknown) => (failed = toError(e)));
      const daemon: ProjectionDaemon = {
        running,
        assertAlive: () => {
          if (failed) throw failed;
        },
        stop: () => running.stop(),
      };
      live.add(daemon);
      const want = [...modules].sort();
      await waitFor(
        () => {
          daemon.assertAlive();
          const status = running.daemon.status();
          const names = status.map((s) => s.module).sort();
          return (
            JSON.stringify(names) === JSON.stringify(want) && status.every((s) => s.mode === 'live')
          );
        },
        { timeoutMs: 30_000, what: `modules ${want.join(', ')} to be live` },
      );
      return daemon;
    },
  };
}
