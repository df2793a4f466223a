import { describe, expect, it } from 'vitest';
import balanceProjections, {
  BALANCE_PROJECTIONS_ACCOUNTS,
  BALANCE_PROJECTIONS_VIEW,
  utcDay,
} from '../../projections/balance-projections.js';
import { EventValidationError } from '../../projections/lib/validate.js';
import { createMemoryStore, eventStream, type EventOverrides } from '../helpers/memoryContext.js';

const created = { accountNumber: 'A-1', accountHolder: 'Grace', accountType: 'savings' };
const at = (iso: string) => ({ eventTimestamp: new Date(iso) });

function setup() {
  const store = createMemoryStore();
  const next = eventStream('acc-1');
  const day = (d: string) => store.get(BALANCE_PROJECTIONS_VIEW, `acc-1:${d}`);
  return { store, next, day };
}

/** closing = opening − debits − fees + credits, for every day document. */
function expectConsistent(doc: Record<string, unknown> | undefined): void {
  const n = (k: string) => doc?.[k] as number;
  expect(n('closingBalance')).toBeCloseTo(
    n('openingBalance') - n('debitsTotal') - n('feesTotal') + n('creditsTotal'),
    9,
  );
}

describe('balance-projections', () => {
  it('declares its collections, including its running balances', () => {
    expect(balanceProjections.name).toBe('balance-projections');
    expect(balanceProjections.version).toBe(1);
    expect(balanceProjections.collections).toEqual([
      'balance_projections_view',
      'balance_projections_accounts',
    ]);
    expect(balanceProjections.verifyIgnore).toEqual([]);
  });

  it('names days by the UTC date of the event time', () => {
    expect(utcDay(new Date('2025-03-01T23:59:59.999Z'))).toBe('2025-03-01');
    expect(utcDay(new Date('2025-03-01T23:30:00-02:00'))).toBe('2025-03-02');
  });

  it('sums one day: opening, closing, totals and counts', async () => {
    const { store, next, day } = setup();
    await store.applyAll(balanceProjections, [
      next('AccountCreated', { ...created, initialBalance: 1000 }, at('2025-03-01T08:00:00Z')),
      next('FundsDebited', { amount: 100, feeAmount: 2 }, at('2025-03-01T09:00:00Z')),
      next('FundsCredited', { amount: 30, feeAmount: 4 }, at('2025-03-01T10:00:00Z')),
      next('FundsDebited', { amount: 50, feeAmount: 1 }, at('2025-03-01T11:00:00Z')),
    ]);
    expect(day('2025-03-01')).toEqual({
      _id: 'acc-1:2025-03-01',
      accountId: 'acc-1',
      day: '2025-03-01',
      openingBalance: 1000,
      closingBalance: 877,
      debitsTotal: 150,
      creditsTotal: 30,
      feesTotal: 3,
      debitCount: 2,
      creditCount: 1,
      version: 4,
    });
    expect(store.all(BALANCE_PROJECTIONS_VIEW)).toHaveLength(1);
  });

  it('rolls over at UTC midnight: a new day opens at the previous closing balance', async () => {
    const { store, next, day } = setup();
    await store.applyAll(balanceProjections, [
      next('AccountCreated', { ...created, initialBalance: 100 }, at('2025-03-01T08:00:00Z')),
      next('FundsCredited', { amount: 20 }, at('2025-03-01T23:59:59Z')),
      next('FundsDebited', { amount: 5, feeAmount: 1 }, at('2025-03-02T00:00:00Z')),
      // No movement on the 3rd: no document; the 4th opens where the 2nd closed.
      next('FundsCredited', { amount: 7 }, at('2025-03-04T12:00:00Z')),
    ]);
    expect(day('2025-03-01')).toMatchObject({
      openingBalance: 100,
      closingBalance: 120,
      creditCount: 1,
      debitCount: 0,
      debitsTotal: 0,
      feesTotal: 0,
    });
    expect(day('2025-03-02')).toMatchObject({
      openingBalance: 120,
      closingBalance: 114,
      debitsTotal: 5,
      feesTotal: 1,
      creditsTotal: 0,
    });
    expect(day('2025-03-03')).toBeUndefined();
    expect(day('2025-03-04')).toMatchObject({ openingBalance: 114, closingBalance: 121 });
    for (const d of store.all(BALANCE_PROJECTIONS_VIEW)) expectConsistent(d);
  });

  it('counts a reversal as a credit of amount + fee, keeping the day consistent', async () => {
    const { store, next, day } = setup();
    await store.applyAll(balanceProjections, [
      next('AccountCreated', { ...created, initialBalance: 500 }, at('2025-03-01T08:00:00Z')),
      next('FundsDebited', { amount: 100, feeAmount: 3 }, at('2025-03-01T09:00:00Z')),
      next('DebitReversed', { amount: 100, feeAmount: 3 }, at('2025-03-02T09:00:00Z')),
    ]);
    expect(day('2025-03-02')).toMatchObject({
      openingBalance: 397,
      closingBalance: 500,
      creditsTotal: 103,
      creditCount: 1,
      feesTotal: 0,
    });
    for (const d of store.all(BALANCE_PROJECTIONS_VIEW)) expectConsistent(d);
  });

  it('applies a redelivered event once, even after later events', async () => {
    const { store, next, day } = setup();
    const d1 = next('FundsDebited', { amount: 10 }, at('2025-03-01T09:00:00Z'));
    const d2 = next('FundsDebited', { amount: 20 }, at('2025-03-01T10:00:00Z'));
    await store.applyAll(balanceProjections, [d1, d1, d2, d1, d2]);
    expect(day('2025-03-01')).toMatchObject({
      openingBalance: 0,
      closingBalance: -30,
      debitsTotal: 30,
      debitCount: 2,
    });
  });

  it.each(['account', 'day'])(
    'finishes an event whose %s write was lost in a crash, without counting it twice',
    async (lost) => {
      const { store, next, day } = setup();
      await store.apply(
        balanceProjections,
        next('AccountCreated', { ...created, initialBalance: 50 }),
      );
      const e = next('FundsDebited', { amount: 10, feeAmount: 1 }, at('2025-03-05T01:00:00Z'));
      const lostCollection =
        lost === 'account' ? BALANCE_PROJECTIONS_ACCOUNTS : BALANCE_PROJECTIONS_VIEW;
      await store.apply(balanceProjections, e, { land: (w) => w.collection !== lostCollection });
      await store.apply(balanceProjections, e);
      expect(day('2025-03-05')).toMatchObject({
        openingBalance: 50,
        closingBalance: 39,
        debitsTotal: 10,
        feesTotal: 1,
        debitCount: 1,
      });
      expect(store.get(BALANCE_PROJECTIONS_ACCOUNTS, 'acc-1')).toMatchObject({
        balance: 39,
        balanceBefore: 50,
      });
    },
  );

  it('keeps accounts apart and an aggregate id with "$" or ":" as plain data', async () => {
    const store = createMemoryStore();
    const a = eventStream('{"$gt": ""}');
    const b = eventStream('x:2025-03-01');
    await store.apply(
      balanceProjections,
      a('FundsCredited', { amount: 1 }, at('2025-03-01T01:00:00Z')),
    );
    await store.apply(
      balanceProjections,
      b('FundsCredited', { amount: 2 }, at('2025-03-01T01:00:00Z')),
    );
    expect(store.get(BALANCE_PROJECTIONS_VIEW, '{"$gt": ""}:2025-03-01')).toMatchObject({
      accountId: '{"$gt": ""}',
      closingBalance: 1,
    });
    expect(store.get(BALANCE_PROJECTIONS_VIEW, 'x:2025-03-01:2025-03-01')).toMatchObject({
      accountId: 'x:2025-03-01',
      closingBalance: 2,
    });
  });

  it.each([
    ['FundsDebited', { amount: '5' }, {}, 'eventData.amount'],
    ['FundsDebited', { amount: 5, feeAmount: -1 }, {}, 'eventData.feeAmount'],
    ['FundsCredited', { amount: null }, {}, 'eventData.amount'],
    ['DebitReversed', { amount: 2e12 }, {}, 'eventData.amount'],
    ['FundsDebited', { amount: 5 }, { eventTimestamp: 1_700_000_000_000 }, 'eventTimestamp'],
    ['AccountCreated', { initialBalance: Number.NaN }, {}, 'eventData.initialBalance'],
  ])('rejects %s %j %j naming %s, writing nothing', async (type, data, over, field) => {
    const { store, next } = setup();
    await store.apply(
      balanceProjections,
      next('AccountCreated', { ...created, initialBalance: 9 }),
    );
    const before = store.dump();
    const err = await store
      .apply(
        balanceProjections,
        next(type, data as Record<string, unknown>, over as EventOverrides),
      )
      .catch((x: unknown) => x);
    expect(err).toBeInstanceOf(EventValidationError);
    expect((err as EventValidationError).field).toBe(field);
    expect(store.dump()).toEqual(before);
  });
});
