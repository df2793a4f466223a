import { afterAll, afterEach } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { judgeSettled } from '../../src/demo/settle.js';
import { takeSnapshot, type DemoSnapshot } from '../../src/demo/snapshot.js';
import { toError } from '../../src/lib/errors.js';
import { runDaemon, type RunningDaemon } from '../../src/lifecycle/runDaemon.js';
import { silentLogger } from '../../src/observability/logger.js';
import { mongoUri, waitFor } from './mongo.js';
import type { Db } from 'mongodb';

/**
 * The whole bank daemon in this process (runDaemon: every built-in module, leases, the deadline
 * scheduler, metrics on a free port) for the end-to-end reaction tests. The clock is the test's:
 * `advance()` moves the daemon's business time (deadlines, saga timeouts, leases) without anyone
 * waiting for it, so a 5-minute timeout costs nothing.
 */
export const BANK_MODULES = [
  'account-summary',
  'aggregate-snapshots',
  'balance-projections',
  'compliance',
  'compliance-review-saga',
  'fraud-saga',
  'transaction-history',
  'transfer-saga',
] as const;

export interface TestClock {
  now(): Date;
  /** Moves the clock forward by `ms` (real time keeps running underneath). */
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let offsetMs = 0;
  return {
    now: () => new Date(Date.now() + offsetMs),
    advance: (ms) => {
      offsetMs += ms;
    },
  };
}

/** The test's config: the built-in modules, short checkpoint intervals, top-level overrides. */
export function bankConfig(dbName: string, overrides: Record<string, unknown> = {}): Config {
  return loadConfig({
    env: {},
    flags: {
      mongoUri: mongoUri(),
      db: dbName,
      metrics: { host: '127.0.0.1', port: 0 },
      checkpoint: { everyEvents: 20, everyMs: 100 },
      shutdown: { timeoutMs: 10_000 },
      // A MongoDB call left unsettled (a reset socket under load) is retried after this long.
      mongo: { operationTimeoutMs: 5000 },
      ...overrides,
    },
  });
}

export interface BankDaemon {
  running: RunningDaemon;
  /** Set when the daemon stopped on an error (a test asserts there is none). */
  failure(): Error | undefined;
  /** Throws the error the daemon stopped on, if it did (for waitFor checks). */
  assertAlive(): void;
  stop(): Promise<void>;
}

/**
 * Starts bank daemons for one test file; each is stopped after the test that started it.
 * `start` resolves once the expected modules are live (caught up with event_store, following the
 * stream): every bank module, or the `modules` given, for a config that enables only those.
 */
export function useBankDaemons(): {
  start(config: Config, clock?: TestClock, modules?: readonly string[]): Promise<BankDaemon>;
} {
  const live = new Set<BankDaemon>();
  const stopAll = async (): Promise<void> => {
    const all = [...live];
    live.clear();
    await Promise.all(all.map((d) => d.stop()));
  };
  afterEach(stopAll);
  afterAll(stopAll);
  return {
    async start(config, clock = testClock(), modules = BANK_MODULES) {
      const running = await runDaemon({ config, logger: silentLogger(), now: clock.now });
      let failed: Error | undefined;
      running.finished.catch((e: unknown) => (failed = toError(e)));
      const daemon: BankDaemon = {
        running,
        failure: () => failed,
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

/**
 * Waits until the daemon has nothing left to do, judged like the demo does (src/demo/settle.ts)
 * on consecutive snapshots: every module live with nothing pending and checkpointed past the
 * store's newest event, no saga deadline due within `horizonMs` of the test clock, and
 * event_store no longer growing (reactions append after the writers stop).
 */
export async function settle(
  db: Db,
  daemon: BankDaemon,
  opts: { clock?: TestClock; horizonMs?: number; timeoutMs?: number } = {},
): Promise<DemoSnapshot> {
  let previous: DemoSnapshot | undefined;
  let waitingFor = 'the first snapshot';
  try {
    return await waitFor(
      async () => {
        const failed = daemon.failure();
        if (failed) throw failed;
        const current = await takeSnapshot({
          db,
          status: () => daemon.running.daemon.status(),
          horizonMs: opts.horizonMs ?? 30_000,
          ...(opts.clock ? { now: opts.clock.now } : {}),
        });
        const verdict = judgeSettled(current, previous, BANK_MODULES.length);
        previous = current;
        if (verdict.settled) return current;
        waitingFor = verdict.waitingFor;
        return undefined;
      },
      { timeoutMs: opts.timeoutMs ?? 45_000, intervalMs: 200, what: 'the bank daemon to settle' },
    );
  } catch (e) {
    throw new Error(`${toError(e).message}; still waiting for ${waitingFor}`, { cause: e });
  }
}
