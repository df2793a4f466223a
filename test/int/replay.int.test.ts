import { beforeAll, describe, expect, it } from 'vitest';
import { eventStore } from '../../src/events/eventStore.js';
import {
  EVENT_COUNTER_TOTALS,
  EVENT_COUNTER_VIEW,
} from '../../src/modules/testing/eventCounter.js';
import { operatorArgs, runCli, useCounterAndSagaConfig } from '../helpers/cli.js';
import { counterEvents, poisonEvent, projectCounterOnce } from '../helpers/engine.js';
import { useTestDb } from '../helpers/mongo.js';
import { diffEventCounter, formatDifferences } from '../helpers/recompute.js';
import { testEvent } from '../helpers/workload.js';

/**
 * `projectord replay` in process: the event-counter model made by the daemon, damaged by hand,
 * and repaired for the selected aggregates only. (replayBank.int.test.ts runs the ownership rule
 * over the bank projections.)
 */
describe('projectord replay', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  const configFile = useCounterAndSagaConfig('replay');
  const OLD = new Date('2020-01-01T10:00:00Z');

  beforeAll(async () => {
    ctx = await useTestDb('replay');
    const docs = counterEvents(6, 10);
    for (let v = 1; v <= 5; v++) docs.push(testEvent('old-1', v, OLD));
    await eventStore(ctx.db).insertMany(docs);
    await projectCounterOnce(ctx.db);
  });

  const cli = (...args: string[]) => runCli([...operatorArgs(ctx.dbName, configFile), ...args]);
  const replayCounter = (...args: string[]) => cli('replay', '--module', 'event-counter', ...args);
  const view = () =>
    ctx.db.collection<{ _id: string; count?: number; aggregateId?: string }>(EVENT_COUNTER_VIEW);
  const totals = async () =>
    (
      await ctx.db
        .collection<{ _id: string; events?: number }>(EVENT_COUNTER_TOTALS)
        .findOne({ _id: 'all' })
    )?.events;
  const temporaries = async () =>
    (await ctx.db.listCollections({}, { nameOnly: true }).toArray())
      .map((c) => c.name)
      .filter((n) => n.includes('__replay_'));

  it('repairs the selected aggregate only, removing its stray documents', async () => {
    await view().updateOne({ _id: 'agg-2' }, { $set: { count: 99 } });
    await view().insertMany([
      { _id: 'agg-2:junk', count: 1 },
      { _id: 'stray', aggregateId: 'agg-2' },
    ]);
    await view().deleteOne({ _id: 'agg-3' });
    const r = await replayCounter('--aggregates', 'agg-2');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      'replay event-counter (aggregates agg-2): 1 aggregate, 10 events re-run, ' +
        '1 documents replaced, 2 deleted.\n',
    );
    expect(await view().findOne({ _id: 'agg-2' })).toMatchObject({ count: 10, version: 10 });
    expect(await view().countDocuments({ _id: { $in: ['agg-2:junk', 'stray'] } })).toBe(0);
    expect(await view().findOne({ _id: 'agg-3' })).toBeNull(); // not selected: untouched
    expect(await totals()).toBe(65); // shared counter: its markers keep it from counting twice
    expect(await temporaries()).toEqual([]);

    expect((await replayCounter('--aggregates', 'agg-3,agg-4')).code).toBe(0);
    expect(formatDifferences(await diffEventCounter(ctx.db))).toBe('');
  });

  it('selects aggregates by event time (--from inclusive, --to exclusive) and by type', async () => {
    await view().updateOne({ _id: 'old-1' }, { $set: { count: 0 } });
    await view().updateOne({ _id: 'agg-0' }, { $set: { count: 0 } });
    const r = await replayCounter('--from', '2020-01-01T10:00:00Z', '--to', '2020-01-02');
    expect(r.code).toBe(0);
    expect(r.out).toContain(': 1 aggregate, 5 events re-run');
    expect(await view().findOne({ _id: 'old-1' })).toMatchObject({ count: 5 });
    expect(await view().findOne({ _id: 'agg-0' })).toMatchObject({ count: 0 });

    const none = await replayCounter('--to', '2020-01-01T10:00:00Z');
    expect(none.code).toBe(0);
    expect(none.out).toContain('no event of the module matches; nothing changed');

    const byType = ['--types', 'TestEvent', '--aggregate-types', 'Test', '--from', '2021-01-01'];
    const typed = await replayCounter(...byType);
    expect(typed.code).toBe(0);
    expect(typed.out).toContain(': 6 aggregates, 60 events re-run');
    expect(formatDifferences(await diffEventCounter(ctx.db))).toBe('');
  });

  it.each([
    [['--module', 'event-counter', '--from', 'last tuesday'], '--from must be an ISO 8601 date'],
    [['--module', 'event-counter', '--to', '2020-02-30x'], '--to must be an ISO 8601 date'],
    [['--module', 'event-counter'], 'needs a selection'],
    [['--module', 'event-counter', '--aggregates', ','], '--aggregates must list at least one'],
    [['--module', 'event-counter', '--from', '2020-02-01', '--to', '2020-01-01'], 'before --to'],
    [['--aggregates', 'agg-1'], "required option '--module <name>' not specified"],
    [['--module', 'nope', '--aggregates', 'agg-1'], 'No module is called "nope"'],
    [['--module', 'fraud-saga', '--aggregates', 'agg-1'], 'reactions are never re-run'],
  ])('refuses %j with exit 2', async (args, message) => {
    const r = await cli('replay', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
  });

  it('leaves the live documents as they were when a handler throws', async () => {
    await view().updateOne({ _id: 'agg-4' }, { $set: { count: 55 } });
    await eventStore(ctx.db).insertOne(poisonEvent('agg-4', 11));
    const r = await replayCounter('--aggregates', 'agg-4');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /Replay of event-counter stopped: Module event-counter failed on TestPoison \S+ \(aggregate agg-4, version 11\): poison event\. The live read model is unchanged/,
    );
    expect(await view().findOne({ _id: 'agg-4' })).toMatchObject({ count: 55 });
    expect(await temporaries()).toEqual([]);
  });
});
