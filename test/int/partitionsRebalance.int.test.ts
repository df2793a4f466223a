import type { Db } from 'mongodb';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { CHECKPOINTS } from '../../src/checkpoint/store.js';
import { loadConfig } from '../../src/config/load.js';
import { createDaemon, type Daemon } from '../../src/lifecycle/daemon.js';
import { defineProjection } from '../../src/modules/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { partitionOf } from '../../src/partitions/hash.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';
import { testEvent } from '../helpers/workload.js';

/**
 * Cooperative rebalancing inside one running daemon (lifecycle/slotChanges.ts, followPhase.ts),
 * with ownership set by the test: a partition taken over whose checkpoint is behind the stream
 * gets the gap re-read for it alone — the partition already running sees none of it again — and
 * a partition handed over is drained and checkpointed while the other goes on without its
 * stream being reopened.
 */
const N = 2;
const MODULE = 'rebalance-log';
const P0 = `${MODULE}#0`;
const P1 = `${MODULE}#1`;
const config = loadConfig({
  env: {},
  flags: {
    checkpoint: { everyEvents: 5, everyMs: 50 },
    modules: { partitions: { [MODULE]: N } },
  },
});

/**
 * Logs every event once by id. Its own orderingKey (the aggregate, but given as a function)
 * leaves out the lane's version memory, so an event dispatched to it twice reaches the handler
 * twice: `calls` sees every delivery.
 */
function rebalanceLog(calls: string[]) {
  return defineProjection({
    name: MODULE,
    version: 1,
    handles: ['TestEvent'],
    collections: ['rebalance_log'],
    orderingKey: (e) => e.aggregateId,
    apply(event, ctx) {
      calls.push(`${ctx.partition?.index ?? '?'}:${event.eventId}`);
      ctx.insertOnce('rebalance_log', { _id: event.eventId });
    },
  });
}

/** Aggregate ids of each partition. */
function aggregates(perPartition: number): string[][] {
  const out: string[][] = [[], []];
  for (let i = 0; out.some((l) => l.length < perPartition); i++) {
    const id = `rb-${i}`;
    const list = out[partitionOf(id, N)]!;
    if (list.length < perPartition) list.push(id);
  }
  return out;
}

describe('rebalancing within a running daemon', () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await useTestDb('partitions_rebalance'));
  });
  const [p0Keys, p1Keys] = aggregates(3) as [string[], string[]];
  const insert = (from: number, to: number) => {
    const docs = [];
    for (let v = from; v <= to; v++)
      for (const id of [...p0Keys, ...p1Keys]) docs.push(testEvent(id, v, new Date()));
    return db.collection('event_store').insertMany(docs);
  };

  const logged = () => db.collection('rebalance_log').countDocuments();
  const all = p0Keys.length + p1Keys.length;

  function daemonOwning(owned: Set<string>) {
    const applied = new Map<string, string[]>();
    const calls: string[] = [];
    let opened = 0;
    const daemon: Daemon = createDaemon({
      db,
      config,
      modules: [rebalanceLog(calls)],
      logger: silentLogger(),
      ownership: { owned: () => owned, fence: () => 1 },
      hooks: {
        onOutcome(slot, event, outcome) {
          applied.set(slot, [...(applied.get(slot) ?? []), `${event.eventId}:${outcome}`]);
        },
        onStreamOpen: () => opened++,
      },
    });
    onTestFinished(() => daemon.stop());
    return { daemon, applied, calls, opens: () => opened };
  }

  it('re-reads the gap for the partition taken over only; the running one sees nothing twice', async () => {
    const first = daemonOwning(new Set([P0, P1]));
    await insert(1, 3);
    await first.daemon.start();
    // Reading a collection the daemon is still creating can fail on the fallback server.
    await waitFor(() => first.opens() > 0, { what: 'the first stream open' });
    await waitFor(async () => (await logged()) === 3 * all, { what: 'versions 1-3 logged' });
    await first.daemon.stop();
    const p1Checkpoint = await db.collection(CHECKPOINTS).findOne({ _id: P1 as never });
    expect(p1Checkpoint?.clusterTime).toBeDefined();

    // Partition 1 stays where it stopped while partition 0 runs on, past events of both.
    await insert(4, 6);
    const owned = new Set([P0]);
    const second = daemonOwning(owned);
    await second.daemon.start();
    await waitFor(() => second.opens() > 0, { what: 'the second stream open' });
    const p0Done = (v: number) => async () =>
      (await logged()) === v * p0Keys.length + 3 * p1Keys.length;
    await waitFor(p0Done(6), { what: 'partition 0 at version 6' });
    await insert(7, 8);
    await waitFor(p0Done(8), { what: 'partition 0 at version 8' });
    const opensBefore = second.opens();

    owned.add(P1);
    second.daemon.rebalance();
    await waitFor(async () => (await logged()) === 8 * all, { what: 'partition 1 caught up' });
    // The stream was reopened behind partition 0, which saw every event once: none twice.
    expect(second.opens()).toBeGreaterThan(opensBefore);
    const p0 = second.calls.filter((c) => c.startsWith('0:'));
    expect(p0).toHaveLength(5 * p0Keys.length);
    expect(new Set(p0).size).toBe(p0.length);
    // Partition 1 got its gap (versions 4 to 8) from the reopened stream.
    expect(new Set(second.calls.filter((c) => c.startsWith('1:'))).size).toBe(5 * p1Keys.length);

    // Handing partition 0 over: drained and checkpointed; partition 1 goes on, same stream.
    const opensBeforeHandover = second.opens();
    owned.delete(P0);
    second.daemon.rebalance();
    await second.daemon.whenStopped(P0);
    expect(second.daemon.status().map((s) => s.slot)).toEqual([P1]);
    const saved = await db.collection(CHECKPOINTS).findOne({ _id: P0 as never });
    await insert(9, 9);
    await waitFor(async () => (await logged()) === 8 * all + p1Keys.length, {
      what: 'partition 1 at version 9 after the handover',
    });
    expect(second.opens()).toBe(opensBeforeHandover);
    // Nothing of partition 0 ran after its handover; its checkpoint stayed where it was saved.
    expect(second.calls.filter((c) => c.startsWith('0:'))).toHaveLength(5 * p0Keys.length);
    const after = await db.collection(CHECKPOINTS).findOne({ _id: P0 as never });
    expect(after?.clusterTime).toEqual(saved?.clusterTime);
  });
});
