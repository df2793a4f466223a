import type { Db } from 'mongodb';
import { beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { collectStatus } from '../../src/cli/status/collectStatus.js';
import { renderStatusTable } from '../../src/cli/status/renderStatus.js';
import { eventStore } from '../../src/events/eventStore.js';
import { EVENT_COUNTER_MODULE } from '../../src/modules/testing/eventCounter.js';
import { counterEvents } from '../helpers/engine.js';
import { readCheckpoint, useDaemons } from '../helpers/daemon.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';
import { diffEventCounter, formatDifferences, waitForConvergence } from '../helpers/recompute.js';

/**
 * Issue 15, item 13: catch-up progress is durable and visible. `projectord run` is SIGKILLed in
 * the middle of a catch-up; the progress it saved stays in the module's checkpoint (shown by
 * `status` as events scanned of an estimate), and the next run resumes from there — its saved
 * count never drops below what the killed run saved — and converges without loss or double
 * effect. Before, the scan position lived only in memory: every restart began at the first
 * event, and a crash loop never finished a catch-up.
 */
const EVENTS = 4000;

interface Saved {
  scanned: number;
  estimate: number;
  after: unknown;
}

async function savedProgress(db: Db): Promise<Saved | undefined> {
  const cp = await readCheckpoint(db, EVENT_COUNTER_MODULE);
  return (cp?.catchUp as Saved | undefined) ?? undefined;
}

describe('catch-up progress across a crash', () => {
  const daemons = useDaemons();
  let db: Db;
  let dbName: string;
  beforeAll(async () => {
    ({ db, dbName } = await useTestDb('cuprog'));
    await eventStore(db).insertMany(counterEvents(EVENTS / 20, 20));
  });

  it('is saved as the scan goes, shown by status, and resumed after kill -9', async () => {
    const daemon = daemons.create({
      mongoUri: mongoUri(),
      dbName,
      // Small batches and frequent saves: the kill lands mid-catch-up.
      config: { source: { catchUpBatchSize: 25 }, checkpoint: { everyEvents: 50, everyMs: 50 } },
    });
    onTestFailed(() => console.error(daemon.output()));
    await daemon.start();
    const before = await waitFor(
      async () => {
        daemon.assertRunning();
        const p = await savedProgress(db);
        return p && p.scanned >= 200 ? p : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20, what: 'saved catch-up progress' },
    );
    daemon.kill('SIGKILL');
    await daemon.waitForExit();
    const killed = (await savedProgress(db)) ?? before;
    expect(killed.scanned).toBeLessThan(EVENTS);
    expect(killed.estimate).toBe(EVENTS);
    expect(killed.after).toMatchObject({ phase: 'ordered' });

    const report = await collectStatus(db, {
      now: new Date(),
      maxLagMs: 1000,
      stuckAfterMs: 60_000,
    });
    const row = report.modules.find((m) => m.module === EVENT_COUNTER_MODULE);
    expect(row?.mode).toBe('catching-up');
    expect(row?.catchUp).toEqual({ scanned: killed.scanned, estimate: EVENTS });
    expect(renderStatusTable(report)).toContain(
      `catching-up ${killed.scanned.toLocaleString('en-US')} of ~4,000`,
    );

    await daemon.start();
    const seen: number[] = [];
    await waitFor(
      async () => {
        daemon.assertRunning();
        const cp = await readCheckpoint(db, EVENT_COUNTER_MODULE);
        const p = cp?.catchUp as Saved | undefined;
        if (p) seen.push(p.scanned);
        return cp?.mode === 'live' && cp.clusterTime !== undefined;
      },
      { timeoutMs: 60_000, intervalMs: 10, what: 'the resumed catch-up to finish' },
    );
    // The resumed scan never went back to the first event.
    expect(Math.min(...seen, Infinity)).toBeGreaterThanOrEqual(killed.scanned);
    expect((await readCheckpoint(db, EVENT_COUNTER_MODULE))?.catchUp).toBeUndefined();
    await waitForConvergence(db, { timeoutMs: 30_000 });
    expect(formatDifferences(await diffEventCounter(db))).toBe('');
  });
});
