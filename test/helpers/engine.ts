import type { Db, Document } from 'mongodb';
import { loadConfig } from '../../src/config/load.js';
import { createDaemon, type Daemon, type DaemonOptions } from '../../src/lifecycle/daemon.js';
import type { DaemonHooks } from '../../src/lifecycle/status.js';
import eventCounter from '../../src/modules/testing/eventCounter.js';
import { silentLogger } from '../../src/observability/logger.js';
import { waitFor } from './mongo.js';
import { waitForConvergence } from './recompute.js';
import { testEvent } from './workload.js';

/**
 * The engine in this process for int tests: short checkpoint intervals, and retries that give up
 * after two quick attempts so a poison event parks within milliseconds.
 */
export const engineTestConfig = loadConfig({
  env: {},
  flags: {
    checkpoint: { everyEvents: 20, everyMs: 50 },
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
  },
});

export interface StartEngineOptions {
  /** Default: the event-counter module alone. */
  modules?: DaemonOptions['modules'];
  hooks?: Omit<DaemonHooks, 'onStreamOpen'>;
  source?: DaemonOptions['source'];
  /** Default: engineTestConfig. */
  config?: DaemonOptions['config'];
  /** Default: silent. */
  logger?: DaemonOptions['logger'];
  /** Default: the MongoDB sink. */
  sink?: DaemonOptions['sink'];
}

/**
 * Starts a daemon and resolves once its change stream opened, i.e. catch-up is over. (Reading a
 * collection the daemon is still creating can fail on the fallback server.) Stopping it is the
 * caller's job, except when the stream never opens: then it is stopped before the rejection.
 */
export async function startEngine(db: Db, o: StartEngineOptions = {}): Promise<Daemon> {
  let opened = false;
  const daemon = createDaemon({
    db,
    config: o.config ?? engineTestConfig,
    modules: o.modules ?? [eventCounter],
    logger: o.logger ?? silentLogger(),
    hooks: { ...o.hooks, onStreamOpen: () => (opened = true) },
    ...(o.source ? { source: o.source } : {}),
    ...(o.sink ? { sink: o.sink } : {}),
  });
  try {
    await daemon.start();
    await waitFor(() => opened, { what: 'the change stream to open' });
  } catch (e) {
    await daemon.stop();
    throw e;
  }
  return daemon;
}

/** Aggregates `agg-0`, `agg-1`, … with versions 1 to `versions` each, stamped now. */
export function counterEvents(aggregates: number, versions: number): Document[] {
  const docs: Document[] = [];
  for (let a = 0; a < aggregates; a++) {
    for (let v = 1; v <= versions; v++) docs.push(testEvent(`agg-${a}`, v, new Date()));
  }
  return docs;
}

/** An event the event-counter fails on at every attempt (eventCounter.ts `isPoison`). */
export function poisonEvent(aggregateId: string, version: number): Document {
  return { ...testEvent(aggregateId, version, new Date()), eventType: 'TestPoison' };
}

/** Waits until the event-counter read model matches event_store (see recompute.ts). */
export function counterConverged(db: Db): Promise<void> {
  return waitForConvergence(db, { timeoutMs: 30_000 });
}

/**
 * Runs the event-counter over everything event_store holds, then stops: the live model an
 * operator command (verify, replay, rebuild) then works on.
 */
export async function projectCounterOnce(db: Db): Promise<void> {
  const daemon = await startEngine(db);
  try {
    await counterConverged(db);
  } finally {
    await daemon.stop();
  }
}
