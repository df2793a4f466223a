import type { Db } from 'mongodb';
import { beforeAll, describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import { EVENT_COUNTER_MODULE } from '../../src/modules/testing/eventCounter.js';
import { readCheckpoint, useDaemons, type Daemon } from '../helpers/daemon.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';
import {
  diffEventCounter,
  formatDifferences,
  storedCounterTotal,
  waitForConvergence,
} from '../helpers/recompute.js';
import { createRng, startWorkload, testSeed, type Workload } from '../helpers/workload.js';

/**
 * Crashes (DESIGN.md invariants 1, 2, 4 and 8): `projectord run` is SIGKILLed at seeded random
 * moments while events are appended and restarted each time; once appends stop, one last run
 * must bring the event-counter to exactly the state recomputed from event_store — a lost event
 * shows as a count too low, a double effect as one too high. A SIGTERM must stop it cleanly
 * (exit 0 within the shutdown timeout) and a restart must then converge the same way.
 */
const seed = testSeed();
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function reportOnFailure(name: string, daemon: Daemon): void {
  onTestFailed(() => {
    console.error(`[crash] ${name}: seed=${seed} (PROJECTORD_TEST_SEED=${seed} to repeat)`);
    console.error(`[crash] daemon output:\n${daemon.output()}`);
  });
}

function stopOnFinish(workload: Workload): void {
  onTestFinished(async () => {
    await workload.stop().catch(() => undefined);
  });
}

/** Waits until the daemon applied something since `before`, or has caught up with `written`. */
async function waitForProgress(db: Db, daemon: Daemon, before: number, written: () => number) {
  await waitFor(
    async () => {
      daemon.assertRunning();
      const total = await storedCounterTotal(db);
      return total > before || (written() > 0 && total >= written());
    },
    {
      timeoutMs: 30_000,
      intervalMs: 50,
      what: `progress after start #${daemon.starts} (seed ${seed})`,
    },
  );
}

describe('crash safety', () => {
  const daemons = useDaemons();
  let killDb: Db;
  let killDbName: string;
  let termDb: Db;
  let termDbName: string;

  beforeAll(async () => {
    ({ db: killDb, dbName: killDbName } = await useTestDb('crash_kill'));
    ({ db: termDb, dbName: termDbName } = await useTestDb('crash_term'));
  });

  it('kill -9 at random moments: converges with no loss and no double effect', async () => {
    const db = killDb;
    const rng = createRng(seed);
    const daemon = daemons.create({ mongoUri: mongoUri(), dbName: killDbName });
    reportOnFailure('kill -9', daemon);
    console.log(`[crash] seed=${seed}`);

    const workload = startWorkload(db, {
      events: 3000,
      aggregates: 20,
      seed,
      aggregatePrefix: 'crash',
      batchSize: 20,
      eventsPerSecond: 150,
    });
    stopOnFinish(workload);

    const kills = 6;
    for (let i = 0; i < kills; i++) {
      const before = await storedCounterTotal(db);
      await daemon.start();
      // Most kills land after the daemon has applied something; some during its start-up.
      if (rng() < 0.75) await waitForProgress(db, daemon, before, workload.written);
      await pause(Math.floor(rng() * 400));
      daemon.assertRunning();
      daemon.kill('SIGKILL');
      expect((await daemon.waitForExit(10_000)).signal).toBe('SIGKILL');
    }
    const written = await workload.done;
    expect(written.events).toBe(3000);

    await daemon.start();
    await waitForConvergence(db, {
      timeoutMs: 120_000,
      check: () => daemon.assertRunning(),
      context: `seed ${seed}, after ${kills} kills`,
    });
    expect(await storedCounterTotal(db)).toBe(written.events);
    const checkpoint = await readCheckpoint(db, EVENT_COUNTER_MODULE);
    expect(checkpoint, 'event-counter checkpoint in projector_checkpoints').not.toBeNull();
  }, 300_000);

  it('SIGTERM stops cleanly (exit 0); a restart converges without double effects', async () => {
    const db = termDb;
    const rng = createRng(seed + 1);
    const daemon = daemons.create({ mongoUri: mongoUri(), dbName: termDbName });
    reportOnFailure('SIGTERM', daemon);

    const workload = startWorkload(db, {
      events: 1500,
      aggregates: 20,
      seed: seed + 1,
      aggregatePrefix: 'term',
      batchSize: 20,
      eventsPerSecond: 200,
    });
    stopOnFinish(workload);

    await daemon.start();
    await waitForProgress(db, daemon, 0, workload.written);
    await pause(Math.floor(rng() * 400));
    daemon.assertRunning();
    daemon.kill('SIGTERM');
    // The configured shutdown.timeoutMs is 10 s; a clean stop must come well within 15 s.
    expect(await daemon.waitForExit(15_000)).toEqual({ code: 0, signal: null });

    // What a clean stop left behind is consistent: no aggregate ahead of event_store.
    const atStop = await diffEventCounter(db);
    const ahead = atStop.filter((d) => d.kind === 'double' || d.kind === 'unexpected');
    expect(ahead, formatDifferences(ahead)).toEqual([]);
    expect(await readCheckpoint(db, EVENT_COUNTER_MODULE)).not.toBeNull();

    const written = await workload.done;
    await daemon.start();
    await waitForConvergence(db, {
      timeoutMs: 90_000,
      check: () => daemon.assertRunning(),
      context: `seed ${seed}, after SIGTERM`,
    });
    expect(await storedCounterTotal(db)).toBe(written.events);

    daemon.kill('SIGTERM');
    expect(await daemon.waitForExit(15_000)).toEqual({ code: 0, signal: null });
    expect(await diffEventCounter(db)).toEqual([]);
  }, 240_000);
});
