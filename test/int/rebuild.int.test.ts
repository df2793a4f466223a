import type { Document } from 'mongodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clusterTimeToDate, positionFromStored } from '../../src/checkpoint/position.js';
import { CHECKPOINTS } from '../../src/checkpoint/store.js';
import { createUpcasterRegistry } from '../../src/dispatch/upcast.js';
import { eventStore } from '../../src/events/eventStore.js';
import type { Daemon } from '../../src/lifecycle/daemon.js';
import eventCounter, { EVENT_COUNTER_VIEW } from '../../src/modules/testing/eventCounter.js';
import { defineProjection } from '../../src/modules/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { rebuildModule } from '../../src/replay/rebuild.js';
import { LeaseLostError } from '../../src/writer/batchWriter.js';
import { operatorArgs, runCli, useCounterAndSagaConfig } from '../helpers/cli.js';
import {
  counterConverged,
  counterEvents,
  engineTestConfig,
  poisonEvent,
  projectCounterOnce,
  startEngine,
} from '../helpers/engine.js';
import { mongoBackend, useTestDb } from '../helpers/mongo.js';
import { diffEventCounter, formatDifferences } from '../helpers/recompute.js';
import { testEvent } from '../helpers/workload.js';

/**
 * `projectord rebuild` in process against the harness MongoDB. The live event-counter model is
 * made by the daemon; the rebuild must repair it without readers ever seeing it missing, hand
 * over to the daemon at the scan start, and leave everything as it was when a handler throws.
 */
describe('projectord rebuild', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  let daemon: Daemon | undefined;
  const configFile = useCounterAndSagaConfig('rebuild');

  beforeAll(async () => {
    ctx = await useTestDb('rebuild');
    await eventStore(ctx.db).insertMany(counterEvents(10, 30));
    await projectCounterOnce(ctx.db);
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  const cli = (...args: string[]) => runCli([...operatorArgs(ctx.dbName, configFile), ...args]);
  const view = () => ctx.db.collection<{ _id: string; count?: number }>(EVENT_COUNTER_VIEW);
  const shadows = async () =>
    (await ctx.db.listCollections({}, { nameOnly: true }).toArray())
      .map((c) => c.name)
      .filter((n) => n.includes('__rebuild'));
  const checkpoint = () =>
    ctx.db.collection(CHECKPOINTS).findOne({ _id: 'event-counter' as never });

  it('repairs a damaged model while readers keep reading the live collection', async () => {
    await view().updateOne({ _id: 'agg-2' }, { $set: { count: 999 } });
    await view().deleteOne({ _id: 'agg-4' });
    const reads: number[] = [];
    const modes = new Set<unknown>();
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const docs = await view()
          .find({}, { projection: { _id: 1 } })
          .toArray();
        reads.push(docs.length);
        modes.add((await checkpoint())?.mode);
      }
    })();
    const started = Date.now();
    const r = await cli('rebuild', 'event-counter').finally(() => (reading = false));
    await reader;
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^rebuild event-counter: 300 events in \d+\.\d s/m);
    expect(r.out).toContain(
      'rebuild event-counter: 300 events re-run, then 300 events stored since the scan began ' +
        '(with a margin) re-checked; swapped in event_counter_view, event_counter_totals.',
    );
    // Readers saw the old model (9 documents) until the swap, then the new one (10); never an
    // empty or missing collection. mongo-java-server's renameCollection drops the target before
    // it renames (MongoDB's is atomic): there, and only at the swap, an empty read is allowed.
    reads.push(await view().countDocuments());
    const runs = reads.filter((n, i) => i === 0 || n !== reads[i - 1]);
    const allowed =
      mongoBackend() === 'mongo-java-server'
        ? [
            [9, 10],
            [9, 0, 10],
          ]
        : [[9, 10]];
    expect(allowed).toContainEqual(runs);
    expect(modes).toContain('rebuilding'); // status shows the rebuild while it runs
    expect(await view().findOne({ _id: 'agg-2' })).toMatchObject({ count: 30, version: 30 });
    expect(await view().findOne({ _id: 'agg-4' })).toMatchObject({ count: 30 });
    expect(formatDifferences(await diffEventCounter(ctx.db))).toBe('');
    expect(await shadows()).toEqual([]);

    const cp = await checkpoint();
    expect(cp).toMatchObject({ mode: 'live', moduleVersion: 1, token: null });
    const at = clusterTimeToDate(positionFromStored(cp ?? {})!.clusterTime).getTime();
    expect(at).toBeGreaterThanOrEqual(started - 5000);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect((await cli('verify', 'event-counter')).code).toBe(0);
  });

  it('hands over to the daemon at the scan start: new events apply once, nothing twice', async () => {
    daemon = await startEngine(ctx.db);
    await counterConverged(ctx.db);
    const docs = [];
    for (let v = 31; v <= 35; v++) docs.push(testEvent('agg-0', v, new Date()));
    docs.push(testEvent('after-rebuild', 1, new Date()));
    await eventStore(ctx.db).insertMany(docs);
    await counterConverged(ctx.db);
    expect(await view().findOne({ _id: 'agg-0' })).toMatchObject({ count: 35 });
  });

  it('takes in events appended during the scan (the catch-up pass)', async () => {
    // The handler of agg-5 v1 appends events of an aggregate that sorts before it: the first
    // pass is past it already, so only the second pass can bring them in.
    let appended = false;
    const late = defineProjection({
      name: 'late-counter',
      version: 1,
      handles: ['TestEvent'],
      collections: ['late_view'],
      async apply(event, ctx2) {
        if (event.aggregateId === 'agg-5' && event.version === 1 && !appended) {
          appended = true;
          const at = new Date();
          await eventStore(ctx.db).insertMany([1, 2, 3].map((v) => testEvent('aaa-late', v, at)));
        }
        ctx2.upsert('late_view', event.aggregateId, { inc: { count: 1 } });
      },
    });
    const result = await rebuildModule({
      db: ctx.db,
      module: late,
      upcasters: createUpcasterRegistry([]),
      config: engineTestConfig,
      logger: silentLogger(),
      signal: new AbortController().signal,
    });
    expect(result.second.handled).toBeGreaterThanOrEqual(3);
    const lateView = ctx.db.collection<Document & { _id: string }>('late_view');
    expect(await lateView.findOne({ _id: 'aaa-late' })).toMatchObject({ count: 3, version: 3 });
    expect(await lateView.findOne({ _id: 'agg-0' })).toMatchObject({ count: 35 });
  });

  it('refuses bad usage with exit 2: unknown module, a reaction, no module', async () => {
    const unknown = await cli('rebuild', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('Loaded modules: event-counter, fraud-saga');
    const reaction = await cli('rebuild', 'fraud-saga');
    expect(reaction.code).toBe(2);
    expect(reaction.err).toContain('reactions are never re-run');
    expect((await cli('rebuild')).code).toBe(2);
    expect(await shadows()).toEqual([]);
  });

  it('leaves the live model and the checkpoint untouched when a handler throws', async () => {
    await view().updateOne({ _id: 'agg-1' }, { $set: { count: 777 } });
    const before = await checkpoint();
    const documents = await view().countDocuments();
    await eventStore(ctx.db).insertOne(poisonEvent('poisoned', 1));
    const r = await cli('rebuild', 'event-counter');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /Rebuild of event-counter stopped: Module event-counter failed on TestPoison \S+ \(aggregate poisoned, version 1\): poison event\. The live read model and its checkpoint are unchanged/,
    );
    expect(await view().findOne({ _id: 'agg-1' })).toMatchObject({ count: 777 });
    expect(await view().countDocuments()).toBe(documents);
    const after = await checkpoint();
    for (const field of ['mode', 'moduleVersion', 'token', 'clusterTime', 'eventsApplied']) {
      expect(after?.[field]).toEqual(before?.[field]);
    }
    expect(await shadows()).toEqual([]);
  });

  it('swaps nothing when the daemon lost the lease during its own rebuild (version bump)', async () => {
    await eventStore(ctx.db).deleteMany({ aggregateId: 'poisoned' }); // the test before left it
    await view().updateOne({ _id: 'agg-3' }, { $set: { count: 555 } });
    const before = await checkpoint();
    let asked = 0;
    const rebuilding = rebuildModule({
      db: ctx.db,
      module: eventCounter,
      upcasters: createUpcasterRegistry([]),
      config: engineTestConfig,
      logger: silentLogger(),
      signal: new AbortController().signal,
      stillOwned: () => {
        asked++;
        return false;
      },
    });
    await expect(rebuilding).rejects.toBeInstanceOf(LeaseLostError);
    expect(asked).toBe(1);
    expect(await view().findOne({ _id: 'agg-3' })).toMatchObject({ count: 555 });
    const after = await checkpoint();
    for (const field of ['mode', 'moduleVersion', 'token', 'clusterTime']) {
      expect(after?.[field]).toEqual(before?.[field]);
    }
    expect(await shadows()).toEqual([]);
  });
});
