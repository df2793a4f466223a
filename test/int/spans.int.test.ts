import type { AnyBulkWriteOperation, Document } from 'mongodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventStore } from '../../src/events/eventStore.js';
import type { Daemon } from '../../src/lifecycle/daemon.js';
import eventCounter, {
  EVENT_COUNTER_TOTALS,
  EVENT_COUNTER_VIEW,
} from '../../src/modules/testing/eventCounter.js';
import { createModuleRunner } from '../../src/modules/runner.js';
import type { GuardedUpdate } from '../../src/modules/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createBatchWriter } from '../../src/writer/batchWriter.js';
import { upsertOperation, type ReadModelDoc } from '../../src/writer/intents.js';
import { mergeOperations } from '../../src/writer/merge.js';
import { createMongoSink, type BulkSink } from '../../src/writer/sink.js';
import { prepareEvent } from '../../src/dispatch/prepare.js';
import { createUpcasterRegistry } from '../../src/dispatch/upcast.js';
import { counterConverged, startEngine } from '../helpers/engine.js';
import { useTestDb } from '../helpers/mongo.js';
import { diffEventCounter, formatDifferences } from '../helpers/recompute.js';
import { testEvent } from '../helpers/workload.js';

/**
 * Span writes over the wire: a merged update leaves a document as the events one by one do, on
 * the server itself; and a document already partly applied (a crash between events) refuses the
 * span, which the lane then re-runs event by event: nothing lost, nothing twice.
 */
describe('span writes', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  let daemon: Daemon | undefined;
  beforeAll(async () => {
    ctx = await useTestDb('spans');
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  it('a merged update equals the per-event updates on the server, for each operator', async () => {
    const day = (d: number) => new Date(Date.UTC(2026, 0, d));
    const updates: GuardedUpdate[] = [
      { set: { s: 'a', n: 10 }, setOnInsert: { first: 1 }, max: { at: day(3) }, min: { low: 5 } },
      { inc: { n: 2.5, m: 1 }, push: { list: 'x' }, setOnInsert: { first: 2 } },
      { inc: { n: -1 }, max: { at: day(9), high: 4 }, min: { low: 2 }, push: { list: { y: 1 } } },
      { set: { s: 'b' }, max: { at: day(1), high: 2 }, inc: { m: 3 } },
    ];
    const guard = (v: number) => ({ kind: 'version' as const, aggregateId: 'x', version: v });
    for (const [name, before] of [
      ['new', undefined],
      ['existing', { version: 0, n: 1, list: ['o'], high: 9, low: 3, at: day(5) }],
    ] as const) {
      const one = ctx.db.collection<ReadModelDoc>(`per_event_${name}`);
      const all = ctx.db.collection<ReadModelDoc>(`merged_${name}`);
      if (before) {
        await one.insertOne({ _id: 'x', ...before });
        await all.insertOne({ _id: 'x', ...before });
      }
      const ops = updates.map((u, i) => upsertOperation('x', guard(i + 1), u));
      for (const op of ops) await one.bulkWrite([op]);
      const merged = ops
        .slice(1)
        .reduce<AnyBulkWriteOperation<ReadModelDoc> | undefined>(
          (m, op) => m && mergeOperations(m, op),
          ops[0],
        );
      expect(merged).toBeDefined();
      await all.bulkWrite([merged!]);
      expect(await all.findOne({ _id: 'x' })).toEqual(await one.findOne({ _id: 'x' }));
    }
  });

  it('re-runs a span refused by a partly applied document event by event', async () => {
    const events: Document[] = [];
    for (const a of ['partly', 'fresh-1', 'fresh-2']) {
      for (let v = 1; v <= 8; v++) events.push(testEvent(a, v, new Date()));
    }
    await eventStore(ctx.db).insertMany(events);
    // A crash after versions 1..3 of `partly` were applied one by one, before any checkpoint.
    const writer = createBatchWriter({
      sink: createMongoSink(ctx.db),
      maxBatchSize: 100,
      flushIntervalMs: 0,
      logger: silentLogger(),
    });
    const runner = createModuleRunner({
      db: ctx.db,
      module: eventCounter,
      writer,
      settings: {},
      logger: silentLogger(),
      signal: new AbortController().signal,
      now: () => new Date(),
    });
    const upcasters = createUpcasterRegistry([]);
    for (const raw of events.slice(0, 3)) {
      const v = prepareEvent(raw, upcasters);
      if (!v.ok) throw new Error(v.message);
      expect(await runner.execute(v.event)).toBe('applied');
    }

    // The restarted daemon catches up: spans of each aggregate's queued events.
    const sent: Document[] = [];
    const mongo = createMongoSink(ctx.db);
    const sink: BulkSink = {
      bulkWrite(collection, ops) {
        if (collection === EVENT_COUNTER_VIEW) sent.push(...ops);
        return mongo.bulkWrite(collection, ops);
      },
    };
    daemon = await startEngine(ctx.db, { sink });
    await counterConverged(ctx.db);
    expect(formatDifferences(await diffEventCounter(ctx.db))).toBe('');
    const view = (id: string) =>
      ctx.db.collection(EVENT_COUNTER_VIEW).findOne({ _id: id as never });
    expect(await view('partly')).toMatchObject({ count: 8, version: 8 });
    expect(await view('fresh-1')).toMatchObject({ count: 8, version: 8 });
    const totals = await ctx.db.collection(EVENT_COUNTER_TOTALS).findOne({});
    expect(totals?.events).toBe(24);
    // Spans were written (several events in one update), and one was refused and re-run.
    const counts = sent.map((op) => (op as { updateOne?: { update: Document } }).updateOne?.update);
    expect(counts.some((u) => ((u?.$inc as { count?: number } | undefined)?.count ?? 0) > 1)).toBe(
      true,
    );
    expect(sent.length).toBeLessThan(24);
  });
});
