import { beforeAll, describe, expect, it } from 'vitest';
import { eventStore } from '../../src/events/eventStore.js';
import {
  DEAD_LETTERS,
  type DeadLetter,
  type DeadLetterStatus,
} from '../../src/lanes/deadLetters.js';
import {
  EVENT_COUNTER_TOTALS,
  EVENT_COUNTER_VIEW,
} from '../../src/modules/testing/eventCounter.js';
import { operatorArgs, runCli, useCounterAndSagaConfig } from '../helpers/cli.js';
import { counterEvents, poisonEvent, projectCounterOnce, startEngine } from '../helpers/engine.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';
import { testEvent } from '../helpers/workload.js';

/**
 * `projectord verify` in process against the harness MongoDB: the live model is made by the
 * daemon (event-counter), then compared by the CLI with a recompute from event_store. The tests
 * run in order on one database; the dead-letter ones add aggregates whose poison event the
 * daemon dead-lettered, which verify must leave out (and count) instead of stopping at it.
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

  it('prints one JSON report with --json, exit 0 on a match and 1 with the differences', async () => {
    const clean = await cli('verify', 'event-counter', '--json');
    expect(clean.code).toBe(0);
    const report = JSON.parse(clean.out) as {
      modules: { run: { handled: number } }[];
    };
    expect(report).toMatchObject({
      db: ctx.dbName,
      ok: true,
      modules: [{ module: 'event-counter', status: 'match' }],
    });
    expect(report.modules[0]?.run.handled).toBeGreaterThan(0);
    const view = ctx.db.collection<{ _id: string; count?: number }>(EVENT_COUNTER_VIEW);
    const saved = await view.findOne({ _id: 'agg-4' });
    await view.updateOne({ _id: 'agg-4' }, { $set: { count: 42 } });
    try {
      const r = await cli('verify', 'event-counter', '--json');
      expect(r.code).toBe(1);
      const differing = JSON.parse(r.out) as {
        ok: boolean;
        modules: { status: string; collections: { differing: number; shown: unknown[] }[] }[];
      };
      expect(differing.ok).toBe(false);
      expect(differing.modules[0]?.status).toBe('differ');
      const shown = differing.modules[0]?.collections.flatMap((c) => c.shown);
      expect(shown).toEqual([
        {
          collection: EVENT_COUNTER_VIEW,
          id: 'agg-4',
          field: 'count',
          stored: 42,
          expected: saved?.count,
        },
      ]);
      expect(r.err).toContain('1 of 1 modules do not match event_store');
    } finally {
      await view.replaceOne({ _id: 'agg-4' }, saved!);
    }
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

  /** Appends `types` as versions 1, 2, … of `aggregateId`. */
  async function append(aggregateId: string, types: readonly string[]): Promise<void> {
    await eventStore(ctx.db).insertMany(
      types.map((eventType, i) => ({ ...testEvent(aggregateId, i + 1, new Date()), eventType })),
    );
  }
  const letters = () => ctx.db.collection<DeadLetter>(DEAD_LETTERS);
  const statuses = async (key: string) =>
    (await letters().find({ key }).sort({ order: 1 }).toArray()).map((d) => d.status);
  const view = (id: string) =>
    ctx.db.collection<{ _id: string; count?: number }>(EVENT_COUNTER_VIEW).findOne({ _id: id });
  /** Runs a daemon, does `during`, waits until `ready` holds, then stops it (writes flushed). */
  async function runDaemonUntil(
    what: string,
    ready: () => Promise<boolean>,
    during?: () => Promise<void>,
  ) {
    const daemon = await startEngine(ctx.db);
    try {
      await during?.();
      await waitFor(ready, { what });
    } finally {
      await daemon.stop();
    }
  }
  const summary = (docs: number, events: number, excluded: number) =>
    `event-counter: matches event_store (2 collections, ${docs} documents, ${events} events ` +
    `re-run, ${excluded} dead-lettered event${excluded === 1 ? '' : 's'} excluded)`;

  it('leaves out a parked event and the event waiting behind it, and says so (exit 0)', async () => {
    await append('dl-parked', ['TestEvent', 'TestPoison', 'TestEvent']);
    await runDaemonUntil('dl-parked parked with one waiting', async () => {
      const s = await statuses('dl-parked');
      return s.join(',') === 'parked,waiting';
    });
    // The live model holds version 1 alone: re-running 2 or 3 would stop or differ.
    expect(await view('dl-parked')).toMatchObject({ count: 1, version: 1 });

    const r = await cli('verify', 'event-counter');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toEqual([summary(10, 81, 2)]);
    expect(await leftovers()).toEqual([]);
  });

  it('leaves out a skipped event but re-runs the events released after it', async () => {
    await append('dl-skipped', ['TestEvent', 'TestPoison', 'TestEvent', 'TestEvent']);
    await runDaemonUntil(
      'dl-skipped skipped and the events behind it resolved',
      async () => (await statuses('dl-skipped')).join(',') === 'skipped,resolved,resolved',
      async () => {
        const parked = await waitFor(
          () => letters().findOne({ key: 'dl-skipped', status: 'parked' }),
          { what: 'dl-skipped parked' },
        );
        const skip = await cli('dlq', 'skip', parked._id, '--by', 'tester', '--wait');
        expect(skip.code).toBe(0);
      },
    );
    expect(await view('dl-skipped')).toMatchObject({ count: 3, version: 4 });

    // Only the skipped event is left out (3 in all with dl-parked's two): the resolved ones were
    // applied by the daemon, so they are re-run (84 events), or the counts would differ.
    const r = await cli('verify', 'event-counter');
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toEqual([summary(11, 84, 3)]);
  });

  it('leaves out an event with a pending retry or skip request, but not a resolved one', async () => {
    const parked = await letters().findOne({ key: 'dl-parked', status: 'parked' });
    expect(parked).not.toBeNull();
    const id = parked!._id;
    const setStatus = (status: DeadLetterStatus) =>
      letters().updateOne({ _id: id }, { $set: { status } });
    try {
      // No daemon runs: the requests stay pending, and the live model still lacks the event.
      expect((await cli('dlq', 'retry', id, '--by', 'tester')).code).toBe(0);
      expect(await statuses('dl-parked')).toEqual(['retry-requested', 'waiting']);
      const retrying = await cli('verify', 'event-counter');
      expect(retrying.code).toBe(0);
      expect(retrying.out).toContain(summary(11, 84, 3));

      await setStatus('parked');
      expect((await cli('dlq', 'skip', id, '--by', 'tester')).code).toBe(0);
      expect(await statuses('dl-parked')).toEqual(['skip-requested', 'waiting']);
      const skipping = await cli('verify', 'event-counter');
      expect(skipping.code).toBe(0);
      expect(skipping.out).toContain(summary(11, 84, 3));

      // A resolved entry says the module applied the event: verify re-runs it (and so stops).
      await setStatus('resolved');
      const resolved = await cli('verify', 'event-counter');
      expect(resolved.code).toBe(1);
      expect(resolved.out).toContain(
        `event-counter: could not recompute from event_store: Module event-counter failed on ` +
          `TestPoison ${parked!.eventId} (aggregate dl-parked, version 2): poison event`,
      );
      expect(await leftovers()).toEqual([]);
    } finally {
      await setStatus('parked');
    }
    expect((await cli('verify', 'event-counter')).code).toBe(0);
  });

  it('stops at a handler error on an event not dead-lettered for the module (exit 1, naming it) and drops its temporaries', async () => {
    // Not dead-lettered for event-counter: an entry of another module for it excuses nothing.
    const poison = poisonEvent('poisoned', 1);
    const { insertedId } = await eventStore(ctx.db).insertOne(poison);
    const eventId = String(poison.eventId);
    const now = new Date();
    await letters().insertOne({
      _id: `other-module:${eventId}`,
      module: 'other-module',
      key: 'poisoned',
      eventId,
      aggregateId: 'poisoned',
      eventType: 'TestPoison',
      version: 1,
      sourceId: insertedId,
      error: { message: 'poison event' },
      attempts: 2,
      status: 'skipped',
      order: 0,
      createdAt: now,
      updatedAt: now,
      event: {},
    });
    const r = await cli('verify', 'event-counter');
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `event-counter: could not recompute from event_store: Module event-counter failed on ` +
        `TestPoison ${eventId} (aggregate poisoned, version 1): poison event`,
    );
    expect(r.err).toContain('1 of 1 modules do not match event_store: event-counter');
    expect(await leftovers()).toEqual([]);
  });
});
