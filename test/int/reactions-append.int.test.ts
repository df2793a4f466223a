import type { Db, MongoClient } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureEventStoreIndexes, eventStore } from '../../src/events/eventStore.js';
import type { ProjectorEvent } from '../../src/events/types.js';
import { ProjectordError } from '../../src/lib/errors.js';
import type { NewEvent } from '../../src/modules/types.js';
import { createEventAppender, reactionEventId } from '../../src/reactions/append.js';
import { useTestDb } from '../helpers/mongo.js';

const at = new Date('2025-03-01T10:00:00Z');

function cause(over: Partial<ProjectorEvent> = {}): ProjectorEvent {
  return {
    eventId: 'cause-1',
    aggregateId: 'src',
    aggregateType: 'BankAccount',
    eventType: 'FundsDebited',
    eventVersion: '2.0',
    version: 4,
    eventTimestamp: at,
    eventData: {},
    eventMetadata: { correlationId: 'corr-1' },
    ...over,
  };
}

function credit(
  aggregateId: string,
  idempotencyKey: string,
  over: Partial<NewEvent> = {},
): NewEvent {
  return {
    aggregateId,
    aggregateType: 'BankAccount',
    eventType: 'FundsCredited',
    eventVersion: '2.0',
    eventData: { transferId: 'T1', amount: 5 },
    idempotencyKey,
    ...over,
  };
}

describe('reaction appends (src/reactions/append.ts)', () => {
  let db: Db;
  let client: MongoClient;
  let dbName: string;
  beforeAll(async () => {
    ({ db, client, dbName } = await useTestDb('rxappend'));
    await ensureEventStoreIndexes(db);
  });
  const appender = () => createEventAppender({ db, now: () => at });
  const stored = (aggregateId: string) =>
    eventStore(db)
      .find<{ version: number; eventMetadata: object }>({ aggregateId })
      .sort({ version: 1 })
      .toArray();

  it('appends the next version with a deterministic id, causation and correlation', async () => {
    await eventStore(db).insertOne({
      eventId: 'x',
      aggregateId: 'a1',
      version: 1,
      eventType: 'AccountCreated',
    });
    const r = await appender().append(cause(), 'transfer-saga', credit('a1', 'T1:credit'));
    expect(r).toEqual({
      ok: true,
      eventId: reactionEventId('transfer-saga', 'T1:credit'),
      version: 2,
      duplicate: false,
    });
    expect(r.ok && r.eventId).toMatch(/^rx-[0-9a-f]{40}$/);
    const [, doc] = await stored('a1');
    expect(doc).toMatchObject({
      eventId: r.ok && r.eventId,
      commandId: r.ok && r.eventId,
      aggregateType: 'BankAccount',
      eventType: 'FundsCredited',
      eventVersion: '2.0',
      version: 2,
      eventTimestamp: at,
      storedAt: at,
      eventData: { transferId: 'T1', amount: 5 },
      eventMetadata: {
        causationId: 'cause-1',
        correlationId: 'corr-1',
        producedBy: 'projectord:transfer-saga',
        idempotencyKey: 'T1:credit',
      },
    });
  });

  it('reports a repeat of the same step as a duplicate and stores nothing new', async () => {
    const a = appender();
    const first = await a.append(cause(), 'm', credit('a2', 'step'));
    const again = await a.append(cause(), 'm', credit('a2', 'step', { eventData: { other: 1 } }));
    expect(again).toEqual({ ...first, duplicate: true });
    expect(await stored('a2')).toHaveLength(1);
  });

  it('keeps modules apart: the same key in two modules is two events', async () => {
    const a = appender();
    const r1 = await a.append(undefined, 'm1', credit('a3', 'k'));
    const r2 = await a.append(undefined, 'm2', credit('a3', 'k'));
    expect(r1.ok && r2.ok && r1.eventId !== r2.eventId).toBe(true);
    expect((await stored('a3')).map((d) => d.version)).toEqual([1, 2]);
  });

  it('takes the correlation id given, and no causation without a cause', async () => {
    await appender().append(undefined, 'm', credit('a4', 'k', { correlationId: 'mine' }));
    const [doc] = await stored('a4');
    expect(doc?.eventMetadata).toEqual({
      producedBy: 'projectord:m',
      idempotencyKey: 'k',
      correlationId: 'mine',
    });
  });

  it('gives concurrent appends to one aggregate consecutive versions (optimistic concurrency)', async () => {
    const a = appender();
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => a.append(undefined, 'm', credit('a5', `k${i}`))),
    );
    expect(results.every((r) => r.ok && !r.duplicate)).toBe(true);
    expect((await stored('a5')).map((d) => d.version)).toEqual(
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
  });

  it('stores one event when the same step races itself', async () => {
    const a = appender();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => a.append(undefined, 'm', credit('a6', 'same'))),
    );
    expect(await stored('a6')).toHaveLength(1);
    expect(results.filter((r) => r.ok && !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.ok && r.eventId)).size).toBe(1);
  });

  it('answers { ok: false } when other writers keep winning', async () => {
    // A unique index that every append collides with stands in for writers that always win.
    const other = client.db(`${dbName}_contended`);
    try {
      await eventStore(other).createIndex({ eventType: 1 }, { unique: true });
      await eventStore(other).insertOne({
        eventId: 'w',
        aggregateId: 'zz',
        version: 1,
        eventType: 'FundsCredited',
      });
      const a = createEventAppender({ db: other, now: () => at, maxRetries: 2 });
      const r = await a.append(undefined, 'm', credit('a7', 'k'));
      expect(r).toEqual({
        ok: false,
        reason: expect.stringMatching(/after 3 attempts/) as unknown,
      });
      expect(await eventStore(other).countDocuments({ aggregateId: 'a7' })).toBe(0);
    } finally {
      await other.dropDatabase();
    }
  });

  it('detects a repeat even where event_store has no unique eventId index', async () => {
    const bare = client.db(`${dbName}_bare`);
    try {
      const a = createEventAppender({ db: bare, now: () => at });
      await a.append(undefined, 'm', credit('a8', 'k'));
      const again = await a.append(undefined, 'm', credit('a8', 'k'));
      expect(again.ok && again.duplicate).toBe(true);
      expect(await eventStore(bare).countDocuments({ aggregateId: 'a8' })).toBe(1);
    } finally {
      await bare.dropDatabase();
    }
  });

  const bad: [string, Partial<NewEvent>, RegExp][] = [
    ['no idempotencyKey', { idempotencyKey: '' }, /no idempotencyKey/],
    ['no aggregateId', { aggregateId: '' }, /no aggregateId/],
    ['no eventType', { eventType: '' }, /no eventType/],
    [
      'an array as eventData',
      { eventData: [] as unknown as NewEvent['eventData'] },
      /eventData that is not an object/,
    ],
  ];
  it.each(bad)('refuses an append with %s, naming the module', async (_what, over, message) => {
    const err: unknown = await appender()
      .append(undefined, 'bad-module', credit('a9', 'k', over))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProjectordError);
    expect((err as ProjectordError).code).toBe('APPEND_INVALID');
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toMatch(/bad-module/);
    expect(await stored('a9')).toHaveLength(0);
  });
});
