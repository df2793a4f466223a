import { beforeAll, describe, expect, it } from 'vitest';
import { eventStore } from '../../src/events/eventStore.js';
import {
  EVENT_COUNTER_TOTALS,
  EVENT_COUNTER_VIEW,
} from '../../src/modules/testing/eventCounter.js';
import { operatorArgs, runCli, useCounterAndSagaConfig } from '../helpers/cli.js';
import { counterEvents, poisonEvent, projectCounterOnce } from '../helpers/engine.js';
import { useTestDb } from '../helpers/mongo.js';

/**
 * `projectord verify` in process against the harness MongoDB: the live model is made by the
 * daemon (event-counter), then compared by the CLI with a recompute from event_store.
 */
describe('projectord verify', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  const configFile = useCounterAndSagaConfig('verify');

  beforeAll(async () => {
    ctx = await useTestDb('verify');
    await eventStore(ctx.db).insertMany(counterEvents(8, 10));
    await projectCounterOnce(ctx.db);
  });

  const cli = (...args: string[]) => runCli([...operatorArgs(ctx.dbName, configFile), ...args]);
  const leftovers = async () =>
    (await ctx.db.listCollections({}, { nameOnly: true }).toArray())
      .map((c) => c.name)
      .filter((n) => n.includes('__verify_'));

  it('passes (exit 0) when the read model matches event_store', async () => {
    const r = await cli('verify', 'event-counter');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^event-counter: matches event_store \(2 collections, 9 documents, 80 events re-run\)$/m,
    );
    expect(await leftovers()).toEqual([]);
  });

  it('verifies every projection (and only projections) when no module is named', async () => {
    const r = await cli('verify');
    expect(r.code).toBe(0);
    expect(r.out).toContain('event-counter: matches event_store');
    expect(r.out).not.toContain('fraud-saga');
  });

  it('fails (exit 1) naming the document and field after a hand edit, a deletion and an extra', async () => {
    const view = ctx.db.collection<{ _id: string; count?: number }>(EVENT_COUNTER_VIEW);
    const saved = await view.find({ _id: { $in: ['agg-3', 'agg-5'] } }).toArray();
    await view.updateOne({ _id: 'agg-3' }, { $set: { count: 99 } });
    await view.deleteOne({ _id: 'agg-5' });
    await view.insertOne({ _id: 'ghost', count: 1 });
    try {
      const r = await cli('verify', 'event-counter');
      expect(r.code).toBe(1);
      expect(r.out).toContain(
        'event-counter  event_counter_view  _id="agg-3"  count: stored 99, expected 10',
      );
      expect(r.out).toContain('_id="agg-5"  (document): stored (missing), expected (present)');
      expect(r.out).toContain('_id="ghost"  (document): stored (present), expected (missing)');
      expect(r.out).toMatch(/event-counter: DIFFERS — 3 documents \(event_counter_view: 3\)/);
      expect(r.err).toContain('1 of 1 modules do not match event_store: event-counter');
      expect(r.err).toContain('projectord rebuild');
      expect(await leftovers()).toEqual([]);

      const limited = await cli('verify', 'event-counter', '--limit', '1');
      expect(limited.code).toBe(1);
      expect(limited.out.split('\n').filter((l) => l.startsWith('  event-counter'))).toHaveLength(
        1,
      );
    } finally {
      await view.deleteMany({ _id: { $in: ['agg-3', 'agg-5', 'ghost'] } });
      await view.insertMany(saved);
    }
    expect((await cli('verify', 'event-counter')).code).toBe(0);
  });

  it('ignores the engine’s applied markers of shared counters', async () => {
    const totals = ctx.db.collection<{ _id: string }>(EVENT_COUNTER_TOTALS);
    await totals.updateOne({ _id: 'all' }, { $set: { 'applied.stray-marker': 3 } });
    expect((await cli('verify', 'event-counter')).code).toBe(0);
    await totals.updateOne({ _id: 'all' }, { $inc: { events: 1 } });
    const r = await cli('verify', 'event-counter');
    expect(r.code).toBe(1);
    expect(r.out).toContain('_id="all"  events: stored 81, expected 80');
    await totals.updateOne({ _id: 'all' }, { $inc: { events: -1 } });
  });

  it('refuses bad usage with exit 2: unknown module, a reaction, a bad --limit', async () => {
    const unknown = await cli('verify', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('No module is called "nope"');
    expect(unknown.err).toContain('event-counter, fraud-saga');
    const reaction = await cli('verify', 'fraud-saga');
    expect(reaction.code).toBe(2);
    expect(reaction.err).toContain('reactions are never re-run');
    const limit = await cli('verify', '--limit', 'many');
    expect(limit.code).toBe(2);
    expect(limit.err).toContain('--limit must be an integer');
  });

  it('reports a module that cannot be recomputed (exit 1) and still drops its temporary collections', async () => {
    await eventStore(ctx.db).insertOne(poisonEvent('poisoned', 1));
    const r = await cli('verify', 'event-counter');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /event-counter: could not recompute from event_store: Module event-counter failed on TestPoison \S+ \(aggregate poisoned, version 1\): poison event/,
    );
    expect(await leftovers()).toEqual([]);
  });
});
