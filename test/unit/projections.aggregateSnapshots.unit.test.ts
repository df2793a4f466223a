import { describe, expect, it } from 'vitest';
import aggregateSnapshots, {
  AGGREGATE_SNAPSHOT_STATE,
  AGGREGATE_SNAPSHOTS,
} from '../../projections/aggregate-snapshots.js';
import { EventValidationError } from '../../projections/lib/validate.js';
import { createMemoryStore, eventStream } from '../helpers/memoryContext.js';

const NOW = new Date('2025-07-01T00:00:00Z');
const created = {
  accountNumber: 'A-1',
  accountHolder: 'Grace',
  accountType: 'savings',
  initialBalance: 100,
  createdBy: 'teller',
};

function setup(snapshotEveryEvents?: number) {
  const settings = snapshotEveryEvents === undefined ? {} : { bank: { snapshotEveryEvents } };
  const store = createMemoryStore({ settings, now: () => NOW });
  const next = eventStream('acc-1');
  const snapshot = () => store.get(AGGREGATE_SNAPSHOTS, 'acc-1');
  return { store, next, snapshot };
}

describe('aggregate-snapshots', () => {
  it('declares its collections, including the running state', () => {
    expect(aggregateSnapshots.name).toBe('aggregate-snapshots');
    expect(aggregateSnapshots.version).toBe(1);
    expect(aggregateSnapshots.collections).toEqual([
      'aggregate_snapshots',
      'aggregate_snapshot_state',
    ]);
    expect(aggregateSnapshots.verifyIgnore).toEqual(['snapshotTimestamp']);
  });

  it('writes a snapshot every N events (N = 3 from the bank settings) with the account state', async () => {
    const { store, next, snapshot } = setup(3);
    const e1 = next('AccountCreated', created);
    await store.applyAll(aggregateSnapshots, [
      e1,
      next('FundsDebited', { amount: 10, feeAmount: 1 }),
    ]);
    expect(snapshot()).toBeUndefined();
    const e3 = next('FundsCredited', { amount: 5 });
    await store.apply(aggregateSnapshots, e3);
    expect(snapshot()).toEqual({
      _id: 'acc-1',
      aggregateId: 'acc-1',
      aggregateType: 'BankAccount',
      version: 3,
      snapshotTimestamp: NOW,
      snapshotData: {
        accountNumber: 'A-1',
        accountHolder: 'Grace',
        accountType: 'savings',
        currency: 'USD',
        balance: 94,
        status: 'active',
        createdAt: e1.eventTimestamp,
        createdBy: 'teller',
        lastTransactionAt: e3.eventTimestamp,
        frozenAt: null,
        frozenBy: null,
        frozenReason: null,
      },
    });
    const frozenAt = new Date('2025-03-09T00:00:00Z');
    await store.applyAll(aggregateSnapshots, [
      next('AccountFrozen', { reason: 'fraud', frozenBy: 'fraud-saga', frozenAt }),
      next('DebitReversed', { amount: 10, feeAmount: 1 }),
    ]);
    expect(snapshot()?.version).toBe(3);
    await store.apply(aggregateSnapshots, next('SuspiciousActivityDetected', { reasons: ['x'] }));
    expect(snapshot()).toMatchObject({
      version: 6,
      snapshotData: {
        balance: 105,
        status: 'frozen',
        frozenAt,
        frozenBy: 'fraud-saga',
        frozenReason: 'fraud',
      },
    });
  });

  it('defaults to a snapshot every 100 events', async () => {
    const { store, next, snapshot } = setup();
    await store.apply(aggregateSnapshots, next('AccountCreated', created));
    for (let i = 2; i <= 99; i++)
      await store.apply(aggregateSnapshots, next('FundsCredited', { amount: 1 }));
    expect(snapshot()).toBeUndefined();
    await store.apply(aggregateSnapshots, next('FundsCredited', { amount: 1 }));
    expect(snapshot()).toMatchObject({ version: 100, snapshotData: { balance: 199 } });
  });

  it('still snapshots after a multiple of N whose event type it does not handle', async () => {
    const { store, next, snapshot } = setup(3);
    await store.applyAll(aggregateSnapshots, [
      next('AccountCreated', created),
      next('FundsCredited', { amount: 1 }),
    ]);
    next('SomeUserEvent'); // version 3: never delivered to this module
    await store.apply(aggregateSnapshots, next('FundsCredited', { amount: 1 }));
    expect(snapshot()).toMatchObject({ version: 4, snapshotData: { balance: 102 } });
    await store.apply(aggregateSnapshots, next('FundsCredited', { amount: 1 }));
    expect(snapshot()?.version).toBe(4);
    await store.apply(aggregateSnapshots, next('FundsCredited', { amount: 1 }));
    expect(snapshot()?.version).toBe(6);
  });

  it('applies a redelivered event once', async () => {
    const { store, next } = setup(3);
    const e1 = next('AccountCreated', created);
    const e2 = next('FundsDebited', { amount: 10 });
    await store.applyAll(aggregateSnapshots, [e1, e2, e2, e1, e2]);
    expect(store.get(AGGREGATE_SNAPSHOT_STATE, 'acc-1')).toMatchObject({
      version: 2,
      account: { balance: 90 },
    });
  });

  it('writes the snapshot on retry when a crash landed only the state', async () => {
    const { store, next, snapshot } = setup(2);
    await store.apply(aggregateSnapshots, next('AccountCreated', created));
    const e2 = next('FundsDebited', { amount: 10 });
    await store.apply(aggregateSnapshots, e2, {
      land: (w) => w.collection === AGGREGATE_SNAPSHOT_STATE,
    });
    expect(snapshot()).toBeUndefined();
    await store.apply(aggregateSnapshots, e2);
    expect(snapshot()).toMatchObject({ version: 2, snapshotData: { balance: 90 } });
  });

  it('keeps operator-looking strings as plain data', async () => {
    const { store, next, snapshot } = setup(1);
    await store.apply(
      aggregateSnapshots,
      next('AccountCreated', { ...created, accountHolder: '{"$gt": ""}', $unset: { x: 1 } }),
    );
    expect(snapshot()?.snapshotData).toMatchObject({ accountHolder: '{"$gt": ""}' });
    expect(snapshot()?.snapshotData).not.toHaveProperty('$unset');
  });

  it.each([
    ['AccountCreated', { ...created, accountNumber: null }, 'eventData.accountNumber'],
    ['FundsDebited', { amount: 1, feeAmount: 1e13 }, 'eventData.feeAmount'],
    ['FundsCredited', { amount: [1] }, 'eventData.amount'],
    ['AccountFrozen', { frozenAt: 'not a date' }, 'eventData.frozenAt'],
  ])('rejects %s %j naming %s, writing nothing', async (type, data, field) => {
    const { store, next } = setup(1);
    await store.apply(aggregateSnapshots, next('AccountCreated', created));
    const before = store.dump();
    const err = await store
      .apply(aggregateSnapshots, next(type, data as Record<string, unknown>))
      .catch((x: unknown) => x);
    expect(err).toBeInstanceOf(EventValidationError);
    expect((err as EventValidationError).field).toBe(field);
    expect(store.dump()).toEqual(before);
  });
});
