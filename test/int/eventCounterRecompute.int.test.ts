import type { Db, Document } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { appendEvent, eventStore } from '../../src/events/eventStore.js';
import type { ProjectorEvent } from '../../src/events/types.js';
import { isDuplicateKeyError } from '../../src/lib/errors.js';
import eventCounter, {
  EVENT_COUNTER_TOTALS,
  EVENT_COUNTER_VIEW,
  POISON_MESSAGE,
} from '../../src/modules/testing/eventCounter.js';
import type { GuardedUpdate, ProjectionContext } from '../../src/modules/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';
import { diffEventCounter, expectedEventCounter } from '../helpers/recompute.js';
import { startWorkload, testSeed } from '../helpers/workload.js';

/**
 * The engine's fault tests trust three helpers; this file proves them without the engine:
 * the workload writes gap-free streams, the event-counter's writes are replay-safe under the
 * guards DESIGN.md invariant 2 prescribes (applied here by a tiny reference applier), and the
 * recomputation notices a double effect, a lost event and a wrong total.
 */
const seed = testSeed();

function toEvent(d: Document): ProjectorEvent {
  return {
    eventId: String(d.eventId),
    aggregateId: String(d.aggregateId),
    aggregateType: String(d.aggregateType),
    eventType: String(d.eventType),
    eventVersion: String(d.eventVersion),
    version: Number(d.version),
    eventTimestamp: d.eventTimestamp as Date,
    eventData: d.eventData as Record<string, unknown>,
    eventMetadata: {},
  };
}

async function ignoreDuplicate(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (e) {
    if (!isDuplicateKeyError(e)) throw e;
  }
}

/** Applies every stored event, aggregate by aggregate in version order; a throw parks the rest. */
async function applyAll(db: Db): Promise<Error[]> {
  const docs = await eventStore(db).find({}).toArray();
  docs.sort((a, b) =>
    a.aggregateId === b.aggregateId
      ? Number(a.version) - Number(b.version)
      : String(a.aggregateId).localeCompare(String(b.aggregateId)),
  );
  const errors: Error[] = [];
  const parked = new Set<string>();
  for (const doc of docs) {
    const event = toEvent(doc);
    if (parked.has(event.aggregateId)) continue;
    const writes: Promise<void>[] = [];
    const ctx: ProjectionContext = {
      moduleName: eventCounter.name,
      logger: silentLogger(),
      signal: new AbortController().signal,
      settings: {},
      now: () => new Date(),
      findOne: () => Promise.reject(new Error('not used by event-counter')),
      find: () => Promise.reject(new Error('not used by event-counter')),
      upsert(collection: string, id: string, u: GuardedUpdate) {
        const filter = { _id: id as never, version: { $lt: event.version } };
        const update = { $inc: u.inc ?? {}, $set: { ...u.set, version: event.version } };
        writes.push(
          ignoreDuplicate(db.collection(collection).updateOne(filter, update, { upsert: true })),
        );
      },
      insertOnce: () => {
        throw new Error('not used by event-counter');
      },
      incrementOnce(collection: string, id: string, inc: Record<string, number>) {
        const filter = { _id: id as never, applied: { $ne: event.eventId } };
        const update = { $inc: inc, $addToSet: { applied: event.eventId } };
        writes.push(
          ignoreDuplicate(db.collection(collection).updateOne(filter, update, { upsert: true })),
        );
      },
    };
    try {
      await eventCounter.apply(event as Parameters<typeof eventCounter.apply>[0], ctx);
    } catch (e) {
      errors.push(e as Error);
      parked.add(event.aggregateId);
    }
    await Promise.all(writes);
  }
  return errors;
}

describe('event-counter reference recomputation', () => {
  let db: Db;
  let other: Db;
  beforeAll(async () => {
    ({ db } = await useTestDb('ecrc'));
    ({ db: other } = await useTestDb('ecrc_stop'));
  });

  it('the workload writes gap-free streams and reports what it wrote', async () => {
    const result = await startWorkload(db, {
      events: 400,
      aggregates: 12,
      seed,
      batchSize: 37,
    }).done;
    expect(result.events).toBe(400);
    const stored = await eventStore(db)
      .find({}, { projection: { aggregateId: 1, version: 1 } })
      .toArray();
    expect(stored).toHaveLength(400);
    const byAggregate = new Map<string, number[]>();
    for (const d of stored) {
      const list = byAggregate.get(String(d.aggregateId)) ?? [];
      list.push(Number(d.version));
      byAggregate.set(String(d.aggregateId), list);
    }
    expect([...byAggregate.keys()].sort()).toEqual([...result.versions.keys()].sort());
    for (const [id, versions] of byAggregate) {
      versions.sort((a, b) => a - b);
      expect(versions, `seed ${seed}, ${id}`).toEqual(versions.map((_, i) => i + 1));
      expect(result.versions.get(id)).toBe(versions.length);
    }
  });

  it('applying every event, then replaying them all, matches the recomputation', async () => {
    expect(await applyAll(db)).toEqual([]);
    expect(await diffEventCounter(db)).toEqual([]);
    expect((await expectedEventCounter(db)).total).toBe(400);
    expect(await applyAll(db)).toEqual([]);
    expect(await diffEventCounter(db)).toEqual([]);
  });

  it('detects a double-applied event, a lost one and a wrong total', async () => {
    const view = db.collection<{ _id: string; count: number }>(EVENT_COUNTER_VIEW);
    const totals = db.collection<{ _id: string; events: number }>(EVENT_COUNTER_TOTALS);
    const victim = await view.findOne({}, { sort: { _id: 1 } });
    if (!victim) throw new Error('no view document');

    await view.updateOne({ _id: victim._id }, { $inc: { count: 1 } });
    expect(await diffEventCounter(db)).toEqual([
      { kind: 'double', aggregateId: victim._id, expected: victim.count, actual: victim.count + 1 },
    ]);
    await view.updateOne({ _id: victim._id }, { $inc: { count: -2 } });
    expect(await diffEventCounter(db)).toEqual([
      { kind: 'lost', aggregateId: victim._id, expected: victim.count, actual: victim.count - 1 },
    ]);
    await view.deleteOne({ _id: victim._id });
    expect(await diffEventCounter(db)).toEqual([
      { kind: 'lost', aggregateId: victim._id, expected: victim.count, actual: 0 },
    ]);
    await totals.updateOne({ _id: 'all' }, { $inc: { events: 1 } });
    expect((await diffEventCounter(db)).map((d) => d.kind)).toEqual(['lost', 'total']);

    await totals.updateOne({ _id: 'all' }, { $inc: { events: -1 } });
    await view.insertOne(victim);
    expect(await diffEventCounter(db)).toEqual([]);
  });

  it('a poison event fails every time and parks its aggregate in the recomputation', async () => {
    const base = { aggregateType: 'Test', eventData: {} };
    await appendEvent(db, { ...base, aggregateId: 'p-1', eventType: 'TestEvent' });
    await appendEvent(db, { ...base, aggregateId: 'p-1', eventType: 'TestPoison' });
    await appendEvent(db, { ...base, aggregateId: 'p-1', eventType: 'TestEvent' });
    await appendEvent(db, {
      ...base,
      aggregateId: 'p-2',
      eventType: 'TestEvent',
      eventData: { poison: true },
    });
    const errors = await applyAll(db);
    expect(errors.map((e) => e.message)).toEqual([POISON_MESSAGE, POISON_MESSAGE]);

    const expected = await expectedEventCounter(db);
    expect([...expected.parked.keys()].sort()).toEqual(['p-1', 'p-2']);
    expect(expected.aggregates.get('p-1')?.count).toBe(1);
    expect(expected.aggregates.has('p-2')).toBe(false);
    expect(expected.total).toBe(401);
    expect(await diffEventCounter(db)).toEqual([]);
  });

  it('stop() ends a throttled workload early with gap-free streams', async () => {
    const workload = startWorkload(other, {
      events: 100_000,
      aggregates: 5,
      seed,
      batchSize: 10,
      eventsPerSecond: 500,
    });
    await waitFor(() => workload.written() >= 30, { what: '30 events written' });
    const result = await workload.stop();
    expect(result.events).toBeLessThan(100_000);
    expect(await eventStore(other).countDocuments()).toBe(result.events);
    const expected = await expectedEventCounter(other);
    for (const [id, last] of result.versions) expect(expected.aggregates.get(id)?.count).toBe(last);
  });
});
