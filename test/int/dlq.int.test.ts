import type { Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventStore } from '../../src/events/eventStore.js';
import { DEAD_LETTERS } from '../../src/lanes/deadLetters.js';
import type { Daemon } from '../../src/lifecycle/daemon.js';
import eventCounter, { EVENT_COUNTER_VIEW } from '../../src/modules/testing/eventCounter.js';
import { defineProjection } from '../../src/modules/types.js';
import { operatorArgs, runCli } from '../helpers/cli.js';
import { startEngine } from '../helpers/engine.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';
import { testEvent } from '../helpers/workload.js';

/**
 * `projectord dlq` in process, against a daemon running in the same process: the CLI records a
 * request, the daemon performs it in order (it polls requests every second).
 */
interface Letter extends Document {
  _id: string;
  status: string;
  key: string;
  version: number;
}

describe('projectord dlq', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  let daemon: Daemon | undefined;
  // The flaky module fails an event as often as its eventData.failTimes says, then succeeds.
  const attempts = new Map<string, number>();
  const flaky = defineProjection({
    name: 'flaky-counter',
    version: 1,
    handles: ['TestEvent'],
    collections: ['flaky_view'],
    apply(event, c) {
      const failTimes = Number(event.eventData.failTimes ?? 0);
      const n = (attempts.get(event.eventId) ?? 0) + 1;
      attempts.set(event.eventId, n);
      if (n <= failTimes) throw new Error(`flaky failure ${n}`);
      c.upsert('flaky_view', event.aggregateId, { inc: { count: 1 } });
    },
  });

  beforeAll(async () => {
    ctx = await useTestDb('dlq');
    daemon = await startEngine(ctx.db, { modules: [eventCounter, flaky] });
  });
  afterAll(async () => {
    await daemon?.stop();
  });

  const cli = (...args: string[]) => runCli([...operatorArgs(ctx.dbName), ...args]);
  const letters = () => ctx.db.collection<Letter>(DEAD_LETTERS);
  async function parkedWithWaiting(module: string, key: string, total: number) {
    return waitFor(
      async () => {
        const docs = await letters().find({ module, key }).sort({ order: 1 }).toArray();
        return docs.length === total && docs[0]?.status === 'parked' ? docs : undefined;
      },
      { what: `${key} parked in ${module} with ${total - 1} waiting` },
    );
  }
  async function append(aggregateId: string, events: Document[]) {
    await eventStore(ctx.db).insertMany(
      events.map((e, i) => ({ ...testEvent(aggregateId, i + 1, new Date()), ...e })),
    );
  }
  const counted = (collection: string, id: string) =>
    ctx.db.collection<{ _id: string; count?: number }>(collection).findOne({ _id: id });

  it('lists dead letters as a table and as JSON; skip releases the waiting events', async () => {
    await append('poison-x', [{ eventType: 'TestPoison' }, {}, {}]);
    const [parked] = await parkedWithWaiting('event-counter', 'poison-x', 3);

    const table = await cli('dlq', 'list', '--module', 'event-counter');
    expect(table.code).toBe(0);
    const lines = table.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +MODULE +KEY +EVENT TYPE +VERSION +ATTEMPTS +STATUS +ERROR$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${parked!._id} +event-counter +poison-x +TestPoison +1 +2 +parked +poison event$`,
      ),
    );
    expect(lines.slice(2).map((l) => l.split(/ {2,}/)[6])).toEqual(['waiting', 'waiting']);
    const json = await cli('dlq', 'list', '--module', 'event-counter', '--json');
    const entries = JSON.parse(json.out) as { _id: string; status: string; event?: unknown }[];
    expect(entries.map((e) => e.status)).toEqual(['parked', 'waiting', 'waiting']);
    expect(entries[0]).not.toHaveProperty('event');

    const skip = await cli('dlq', 'skip', parked!._id, '--by', 'tester', '--wait');
    expect(skip.code).toBe(0);
    expect(skip.out).toContain(`Skip of ${parked!._id} requested by tester`);
    expect(skip.out).toContain(`${parked!._id}: skipped; the events that waited behind it`);
    // --wait returned: the skip is recorded and every waiting event applied.
    const after = await letters().find({ key: 'poison-x' }).sort({ order: 1 }).toArray();
    expect(after.map((d) => d.status)).toEqual(['skipped', 'resolved', 'resolved']);
    expect(await counted(EVENT_COUNTER_VIEW, 'poison-x')).toMatchObject({ count: 2, version: 3 });
    expect(after[0]).toMatchObject({ skippedBy: 'tester' });
    const open = await cli('dlq', 'list', '--module', 'event-counter');
    expect(open.out).toBe('No dead letters match.\n');
  });

  it('retry re-runs a parked event that now succeeds; --wait reports the outcome', async () => {
    await append('flaky-a', [{ eventData: { n: 1, failTimes: 2 } }, {}]);
    const [parked] = await parkedWithWaiting('flaky-counter', 'flaky-a', 2);
    expect(await counted('flaky_view', 'flaky-a')).toBeNull();
    const r = await cli('dlq', 'retry', parked!._id, '--by', 'tester', '--wait');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`Retry of ${parked!._id} requested by tester`);
    expect(r.out).toContain(`${parked!._id}: resolved`);
    expect(await counted('flaky_view', 'flaky-a')).toMatchObject({ count: 2, version: 2 });
    expect(await letters().findOne({ _id: parked!._id })).toMatchObject({
      status: 'resolved',
      requestedBy: 'tester',
    });
  });

  it('retry --wait exits 1 when the event fails again', async () => {
    await append('flaky-b', [{ eventData: { n: 1, failTimes: 10 } }]);
    const [parked] = await parkedWithWaiting('flaky-counter', 'flaky-b', 1);
    const r = await cli('dlq', 'retry', parked!._id, '--wait', '--timeout-ms', '20000');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/failed again and is parked \(flaky failure \d+\)/);
    expect(await counted('flaky_view', 'flaky-b')).toBeNull();
  });

  it('refuses unknown ids, entries in the wrong state and bad flags with exit 2', async () => {
    await append('poison-y', [{ eventType: 'TestPoison' }, {}]);
    const [parked, waiting] = await parkedWithWaiting('event-counter', 'poison-y', 2);

    const unknown = await cli('dlq', 'retry', 'event-counter:nope');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('No dead letter has the id "event-counter:nope"');
    const behind = await cli('dlq', 'retry', waiting!._id);
    expect(behind.code).toBe(2);
    expect(behind.err).toContain(
      `is waiting behind ${parked!._id} (parked), not failing itself: retry that one`,
    );
    for (const args of [
      ['dlq', 'list', '--status', 'bogus'],
      ['dlq', 'list', '--limit', '0'],
      ['dlq', 'retry', parked!._id, '--by', ' '],
      ['dlq', 'retry', parked!._id, '--timeout-ms', 'soon'],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
    }
    expect(await letters().findOne({ _id: parked!._id })).toMatchObject({ status: 'parked' });

    expect((await cli('dlq', 'skip', parked!._id, '--by', 'first')).code).toBe(0);
    const twice = await cli('dlq', 'skip', parked!._id, '--by', 'second');
    expect(twice.code).toBe(2);
    expect(twice.err).toMatch(/already (has a skip request \(by first\)|skipped)/);
  });

  it('an invalid envelope retried stays invalid; it can be skipped at once', async () => {
    await eventStore(ctx.db).insertOne({ ...testEvent('bad-v', 1, new Date()), version: 'one' });
    const invalid = await waitFor(
      () => letters().findOne({ module: 'event-counter', status: 'invalid' }),
      { what: 'the invalid envelope in the dead letters' },
    );
    const retry = await cli('dlq', 'retry', invalid._id, '--wait', '--timeout-ms', '20000');
    expect(retry.code).toBe(1);
    expect(retry.err).toContain(
      'failed again and is invalid (version: version must be a positive integer',
    );
    const skip = await cli('dlq', 'skip', invalid._id, '--by', 'tester');
    expect(skip.code).toBe(0);
    expect(skip.out).toContain('skipped by tester');
    expect(await letters().findOne({ _id: invalid._id })).toMatchObject({
      status: 'skipped',
      skippedBy: 'tester',
    });
    const listed = await cli('dlq', 'list', '--status', 'skipped', '--module', 'event-counter');
    expect(listed.out).toContain(invalid._id);
  });
});
