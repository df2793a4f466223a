import type { Db } from 'mongodb';
import { eventStore } from '../../src/events/eventStore.js';
import {
  EVENT_COUNTER_MODULE,
  EVENT_COUNTER_TOTALS,
  EVENT_COUNTER_TOTALS_ID,
} from '../../src/modules/testing/eventCounter.js';
import { log, saveResult } from '../lib/results.js';
import { median } from '../lib/stats.js';
import { testEvent } from '../../test/helpers/workload.js';
import {
  appliedByOutcome,
  freePort,
  startChild,
  writeChildConfig,
  type DaemonChild,
} from './child.js';
import { startBenchServer } from './server.js';
import { sleep } from './time.js';

/**
 * Scenario 5: recovery after kill -9. `projectord run` (a child process, event-counter only)
 * follows a steady stream of inserts; it is SIGKILLed mid-stream and started again at once.
 * Measured from the restart: the first event the new process finishes (its metrics), and the
 * first event whose effect is new (the shared total moves past its value at the kill).
 * Re-processed events are those the new process found already applied (outcome `duplicate`):
 * at most what the last checkpoint had not covered. Afterwards the total must equal the events
 * inserted: nothing lost, nothing counted twice.
 */
const RATE = 500;
const AGGREGATES = 200;
const REPS = 3;
const CHECKPOINT = { everyEvents: 500, everyMs: 1000 };

async function total(db: Db): Promise<number> {
  const doc = await db
    .collection<{ _id: string; events?: number }>(EVENT_COUNTER_TOTALS)
    .findOne({ _id: EVENT_COUNTER_TOTALS_ID });
  return doc?.events ?? 0;
}

async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Inserts RATE events/s in batches of 10 until stopped; returns how many it wrote. */
function steadyInserts(db: Db): { stop(): Promise<number> } {
  let stopped = false;
  let written = 0;
  const versions = new Map<string, number>();
  const run = (async () => {
    const started = performance.now();
    while (!stopped) {
      const wait = started + (written / RATE) * 1000 - performance.now();
      if (wait > 0) await sleep(wait);
      const batch = [];
      for (let i = 0; i < 10; i++, written++) {
        const id = `agg-${written % AGGREGATES}`;
        const v = (versions.get(id) ?? 0) + 1;
        versions.set(id, v);
        batch.push(testEvent(id, v, new Date()));
      }
      await eventStore(db).insertMany(batch);
    }
    return written;
  })();
  return {
    stop: () => {
      stopped = true;
      return run;
    },
  };
}

async function once(db: Db, uri: string) {
  const configFile = writeChildConfig(CHECKPOINT);
  const port = await freePort();
  const start = (): DaemonChild =>
    startChild({ uri, db: db.databaseName, configFile, metricsPort: port });
  let child = start();
  const inserts = steadyInserts(db);
  try {
    await until('the first daemon to apply 1000 events', 60_000, async () =>
      (await total(db)) >= 1000 ? true : undefined,
    );
    await sleep(2000);
    child.kill('SIGKILL');
    await child.exited;
    await sleep(300); // writes the server had already received land
    const atKill = await total(db);
    const restartedAt = performance.now();
    child = start();
    const httpUp = until('the new process to serve /metrics', 60_000, async () =>
      (await appliedByOutcome(port, EVENT_COUNTER_MODULE)) !== undefined
        ? performance.now() - restartedAt
        : undefined,
    );
    const firstProcessed = until('the first event finished after the restart', 60_000, async () => {
      const o = await appliedByOutcome(port, EVENT_COUNTER_MODULE);
      const n = o ? Object.values(o).reduce((a, b) => a + b, 0) : 0;
      return n > 0 ? performance.now() - restartedAt : undefined;
    });
    const firstNew = until('the first new effect after the restart', 60_000, async () =>
      (await total(db)) > atKill ? performance.now() - restartedAt : undefined,
    );
    const [upMs, processedMs, newEffectMs] = await Promise.all([httpUp, firstProcessed, firstNew]);
    await sleep(1000);
    const inserted = await inserts.stop();
    await until('every inserted event to be counted', 120_000, async () =>
      (await total(db)) >= inserted ? true : undefined,
    );
    await sleep(500);
    const outcomes = (await appliedByOutcome(port, EVENT_COUNTER_MODULE)) ?? {};
    const counted = await total(db);
    if (counted !== inserted) throw new Error(`counted ${counted} of ${inserted} events`);
    return {
      httpUpMs: upMs,
      firstProcessedMs: processedMs,
      firstNewEffectMs: newEffectMs,
      reprocessed: outcomes.duplicate ?? 0,
      appliedAfterRestart: outcomes.applied ?? 0,
      atKill,
      inserted,
    };
  } finally {
    await inserts.stop().catch(() => 0);
    child.kill('SIGTERM');
    await Promise.race([child.exited, sleep(15_000)]);
    child.kill('SIGKILL');
  }
}

const server = await startBenchServer();
try {
  const reps = [];
  for (let i = 0; i < REPS; i++) {
    const r = await once(await server.freshDb(`rec${i}`), server.mongo.uri);
    reps.push(r);
    log(
      `5 rep ${i + 1}: first event ${r.firstProcessedMs.toFixed(0)} ms, first new effect ${r.firstNewEffectMs.toFixed(0)} ms, ${r.reprocessed} re-processed`,
    );
  }
  saveResult('wire-recovery', {
    backend: server.mongo.backend,
    rate: RATE,
    checkpoint: CHECKPOINT,
    reps,
    median: {
      httpUpMs: median(reps.map((r) => r.httpUpMs)),
      firstProcessedMs: median(reps.map((r) => r.firstProcessedMs)),
      firstNewEffectMs: median(reps.map((r) => r.firstNewEffectMs)),
      reprocessed: median(reps.map((r) => r.reprocessed)),
    },
  });
} finally {
  await server.stop();
}
