import { ObjectId, type Db } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import upcasters from '../../projections/upcasters.js';
import { createUpcasterRegistry } from '../../src/dispatch/upcast.js';
import {
  createEventFetcher,
  matchesStreamFilter,
  streamQuery,
} from '../../src/lifecycle/fetcher.js';
import { eventStore } from '../../src/events/eventStore.js';
import type { StreamFilter } from '../../src/modules/types.js';
import { bankWriter } from '../helpers/bankEvents.js';
import { useTestDb } from '../helpers/mongo.js';

/**
 * A reaction's filtered readStream (the fetcher behind ctx.readStream) against the harness
 * MongoDB: types and eventData fields narrow the stream on the server, values stay values.
 */
describe('readStream with a filter', () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await useTestDb('stream_filter'));
    const bank = bankWriter(db);
    await bank.open('src', 500);
    await bank.open('dst', 0);
    await bank.transfer({ transferId: 'T1', from: 'src', to: 'dst', amount: 10 });
    await bank.transfer({ transferId: 'T2', from: 'src', to: 'dst', amount: 20 });
    await bank.freeze('dst');
    await bank.credit({ transferId: '{"$gt":""}', from: 'src', to: 'dst', amount: 1 });
  });
  const fetcher = () => createEventFetcher(db, createUpcasterRegistry(upcasters));
  const shape = (events: { eventType: string; version: number }[]) =>
    events.map((e) => `${e.eventType}@${e.version}`);

  it('returns the whole stream without a filter, in version order', async () => {
    expect(shape(await fetcher().stream('dst'))).toEqual([
      'AccountCreated@1',
      'FundsCredited@2',
      'FundsCredited@3',
      'AccountFrozen@4',
      'FundsCredited@5',
    ]);
  });

  it('narrows to event types and to eventData fields', async () => {
    const f = fetcher();
    expect(shape(await f.stream('dst', { types: ['AccountCreated', 'AccountFrozen'] }))).toEqual([
      'AccountCreated@1',
      'AccountFrozen@4',
    ]);
    const t2 = await f.stream('dst', { types: ['FundsCredited'], data: { transferId: 'T2' } });
    expect(t2.map((e) => e.eventData.transferId)).toEqual(['T2']);
    expect(await f.stream('dst', { data: { transferId: 'T9' } })).toEqual([]);
  });

  it('filters in memory (matchesStreamFilter, for test stand-ins) as the server does', async () => {
    const stored = await eventStore(db).find({ aggregateId: 'dst' }).sort({ version: 1 }).toArray();
    const filters: StreamFilter[] = [
      {},
      { types: ['AccountCreated', 'AccountFrozen'] },
      { types: ['FundsCredited'], data: { transferId: 'T2' } },
      { data: { transferId: '{"$gt":""}' } },
    ];
    for (const filter of filters) {
      const server = (await fetcher().stream('dst', filter)).map((e) => e.version);
      const memory = stored
        .filter((d) => matchesStreamFilter(d.eventType, d.eventData, filter))
        .map((d) => d.version as number);
      expect(memory, JSON.stringify(filter)).toEqual(server);
    }
  });

  it('matches a string that looks like an operator only as that string', async () => {
    const f = fetcher();
    const found = await f.stream('dst', { data: { transferId: '{"$gt":""}' } });
    expect(shape(found)).toEqual(['FundsCredited@5']);
    expect(streamQuery('dst', { data: { transferId: '{"$gt":""}' } })).toEqual({
      aggregateId: { $eq: 'dst' },
      'eventData.transferId': { $eq: '{"$gt":""}' },
    });
  });

  it('reads a stream stored under ObjectId ids by their hex, on the server and in memory', async () => {
    const account = new ObjectId();
    const transfer = new ObjectId();
    const base = { aggregateId: account, aggregateType: 'BankAccount', eventVersion: '1.0' };
    const at = new Date();
    await eventStore(db).insertMany([
      {
        ...base,
        eventId: new ObjectId(),
        eventType: 'AccountCreated',
        version: 1,
        eventTimestamp: at,
        eventData: { accountNumber: 'n', accountHolder: 'h', accountType: 'checking' },
      },
      {
        ...base,
        eventId: new ObjectId(),
        eventType: 'FundsCredited',
        version: 2,
        eventTimestamp: at,
        eventData: { transferId: transfer, amount: 5, currency: 'USD' },
      },
      {
        ...base,
        eventId: new ObjectId(),
        eventType: 'FundsCredited',
        version: 3,
        eventTimestamp: at,
        eventData: { transferId: transfer.toHexString(), amount: 6, currency: 'USD' },
      },
    ]);
    const f = fetcher();
    const id = account.toHexString();
    const filter = { types: ['FundsCredited'], data: { transferId: transfer.toHexString() } };
    const found = await f.stream(id, filter);
    expect(found.map((e) => [e.aggregateId, e.version])).toEqual([
      [id, 2],
      [id, 3],
    ]);
    expect((await f.versions(id, 1, 2)).map((x) => x.event.version)).toEqual([1, 2]);
    const stored = await eventStore(db)
      .find({ aggregateId: account })
      .sort({ version: 1 })
      .toArray();
    const memory = stored.filter((d) => matchesStreamFilter(d.eventType, d.eventData, filter));
    expect(memory.map((d) => d.version as number)).toEqual([2, 3]);
  });

  it('refuses a field name that is a path or an operator, naming it', () => {
    for (const field of ['a.b', '$where', '']) {
      expect(() => streamQuery('dst', { data: { [field]: 1 } })).toThrow(
        `readStream filter field "${field}" is not a plain field name of eventData`,
      );
    }
  });
});
