import { ObjectId, type Db } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  appendEvent,
  ensureEventStoreIndexes,
  eventStore,
  type AppendInput,
} from '../../src/events/eventStore.js';
import { ProjectordError } from '../../src/lib/errors.js';
import { useTestDb } from '../helpers/mongo.js';

/**
 * appendEvent's optimistic concurrency against the harness MongoDB: the unique
 * (aggregateId, version) index decides, an expected version is checked without a gap, and the
 * same eventId appended twice is one event.
 */
describe('appendEvent', () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await useTestDb('append_event'));
    await ensureEventStoreIndexes(db);
  });
  const input = (aggregateId: string, over: Partial<AppendInput> = {}): AppendInput => ({
    aggregateId,
    aggregateType: 'Test',
    eventType: 'Noted',
    eventData: { n: 1 },
    ...over,
  });
  const versions = async (aggregateId: string) =>
    (await eventStore(db).find({ aggregateId }).sort({ version: 1 }).toArray()).map(
      (d) => d.version as number,
    );
  const conflictOf = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ProjectordError);
    return e as ProjectordError;
  };

  it('appends at the next version, with or without the expected one', async () => {
    expect(await appendEvent(db, input('a1'))).toMatchObject({ version: 1, duplicate: false });
    expect(await appendEvent(db, input('a1'), { expectedVersion: 1 })).toMatchObject({
      version: 2,
    });
    expect(await appendEvent(db, input('a1'))).toMatchObject({ version: 3 });
    expect(await versions('a1')).toEqual([1, 2, 3]);
  });

  it('refuses a stale expected version, naming where the aggregate is', async () => {
    await appendEvent(db, input('a2'), { expectedVersion: 0 });
    await appendEvent(db, input('a2'));
    const e = await conflictOf(appendEvent(db, input('a2'), { expectedVersion: 1 }));
    expect(e.code).toBe('APPEND_CONFLICT');
    expect(e.message).toBe('Aggregate a2 is at version 2, expected 1.');
    expect(await versions('a2')).toEqual([1, 2]);
  });

  it('refuses an expected version the stream has not reached, leaving no gap', async () => {
    await appendEvent(db, input('a3'));
    const e = await conflictOf(appendEvent(db, input('a3'), { expectedVersion: 4 }));
    expect(e.message).toBe('Aggregate a3 is at version 1, expected 4.');
    expect(await versions('a3')).toEqual([1]);
  });

  it('reports the same eventId appended again as a duplicate, also with an expected version', async () => {
    const first = await appendEvent(db, input('a4', { eventId: 'evt-a4-1' }));
    expect(first).toEqual({ eventId: 'evt-a4-1', version: 1, duplicate: false });
    expect(await appendEvent(db, input('a4', { eventId: 'evt-a4-1' }))).toEqual({
      eventId: 'evt-a4-1',
      version: 1,
      duplicate: true,
    });
    expect(
      await appendEvent(db, input('a4', { eventId: 'evt-a4-1' }), { expectedVersion: 0 }),
    ).toMatchObject({ version: 1, duplicate: true });
    expect(await versions('a4')).toEqual([1]);
  });

  it('takes the next free version when racing writers collide (no expected version)', async () => {
    await Promise.all(Array.from({ length: 8 }, () => appendEvent(db, input('a5'))));
    expect(await versions('a5')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('appends to a stream stored under ObjectId ids in that form, named by its hex', async () => {
    const account = new ObjectId();
    await eventStore(db).insertOne({
      ...input('x'),
      aggregateId: account,
      version: 1,
      eventId: new ObjectId(),
    });
    const hex = account.toHexString();
    expect(await appendEvent(db, input(hex))).toMatchObject({ version: 2, duplicate: false });
    expect(await appendEvent(db, input(hex), { expectedVersion: 2 })).toMatchObject({ version: 3 });
    const e = await conflictOf(appendEvent(db, input(hex), { expectedVersion: 2 }));
    expect(e.code).toBe('APPEND_CONFLICT');
    expect(await eventStore(db).countDocuments({ aggregateId: hex })).toBe(0);
    const stream = await eventStore(db)
      .find({ aggregateId: account })
      .sort({ version: 1 })
      .toArray();
    expect(stream.map((d) => d.version as number)).toEqual([1, 2, 3]);
  });
});
