import { describe, expect, it } from 'vitest';
import accountSummary, { ACCOUNT_SUMMARY_VIEW } from '../../projections/account-summary.js';
import { EventValidationError } from '../../projections/lib/validate.js';
import { createMemoryStore, eventStream } from '../helpers/memoryContext.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const created = {
  accountNumber: 'ACC-001',
  accountHolder: 'Ada Lovelace',
  accountType: 'checking',
  initialBalance: 1000,
  currency: 'EUR',
  createdBy: 'teller-7',
  createdAt: new Date('2025-02-28T09:00:00Z'),
};

function setup() {
  const store = createMemoryStore({ now: () => NOW });
  const next = eventStream('acc-1');
  return { store, next, view: () => store.get(ACCOUNT_SUMMARY_VIEW, 'acc-1') };
}

describe('account-summary', () => {
  it('declares its name, collections, version and bookkeeping fields', () => {
    expect(accountSummary.name).toBe('account-summary');
    expect(accountSummary.version).toBe(1);
    expect(accountSummary.collections).toEqual(['account_summary_view']);
    expect(accountSummary.verifyIgnore).toEqual(['lastUpdated']);
    expect([...accountSummary.handles].sort()).toEqual(
      ['AccountCreated', 'AccountFrozen', 'DebitReversed', 'FundsCredited', 'FundsDebited'].sort(),
    );
  });

  it('opens an account with every DOMAIN.md field', async () => {
    const { store, next, view } = setup();
    await store.apply(accountSummary, next('AccountCreated', created));
    expect(view()).toEqual({
      _id: 'acc-1',
      accountNumber: 'ACC-001',
      accountHolder: 'Ada Lovelace',
      accountType: 'checking',
      currentBalance: 1000,
      currency: 'EUR',
      status: 'active',
      createdAt: created.createdAt,
      createdBy: 'teller-7',
      lastTransactionAt: null,
      lastUpdated: NOW,
      version: 1,
      frozenAt: null,
      frozenBy: null,
      frozenReason: null,
    });
  });

  it('defaults initialBalance to 0, currency to USD, createdAt to the event time', async () => {
    const { store, next, view } = setup();
    const e = next('AccountCreated', { accountNumber: 'A', accountHolder: 'B', accountType: 'C' });
    await store.apply(accountSummary, e);
    expect(view()).toMatchObject({
      currentBalance: 0,
      currency: 'USD',
      createdAt: e.eventTimestamp,
      createdBy: null,
    });
  });

  it('moves the balance: debit − (amount + fee), credit + amount, reversal + (amount + fee)', async () => {
    const { store, next, view } = setup();
    await store.apply(accountSummary, next('AccountCreated', created));
    await store.apply(accountSummary, next('FundsDebited', { amount: 100, feeAmount: 2.5 }));
    expect(view()?.currentBalance).toBe(897.5);
    const credit = next('FundsCredited', { amount: 50, feeAmount: 0 });
    await store.apply(accountSummary, credit);
    expect(view()?.currentBalance).toBe(947.5);
    const reversal = next('DebitReversed', { amount: 100, feeAmount: 2.5, reason: 'no credit' });
    await store.apply(accountSummary, reversal);
    expect(view()).toMatchObject({
      currentBalance: 1050,
      lastTransactionAt: reversal.eventTimestamp,
      version: 4,
      status: 'active',
    });
  });

  it('freezes with who, when and why', async () => {
    const { store, next, view } = setup();
    await store.apply(accountSummary, next('AccountCreated', created));
    const frozenAt = new Date('2025-03-02T00:00:00Z');
    await store.apply(
      accountSummary,
      next('AccountFrozen', { reason: 'fraud score 85', frozenBy: 'fraud-saga', frozenAt }),
    );
    expect(view()).toMatchObject({
      status: 'frozen',
      frozenAt,
      frozenBy: 'fraud-saga',
      frozenReason: 'fraud score 85',
      currentBalance: 1000,
    });
    // A frozen account still records money that moves (e.g. a reversal).
    await store.apply(accountSummary, next('DebitReversed', { amount: 5 }));
    expect(view()).toMatchObject({ status: 'frozen', currentBalance: 1005 });
  });

  it('applies a redelivered event once', async () => {
    const { store, next, view } = setup();
    await store.apply(accountSummary, next('AccountCreated', created));
    const debit = next('FundsDebited', { amount: 10 });
    await store.apply(accountSummary, debit);
    await store.apply(accountSummary, debit);
    expect(view()?.currentBalance).toBe(990);
  });

  it('stores operator-looking strings and ignores $-keys in eventData as plain data', async () => {
    const { store, next, view } = setup();
    await store.apply(
      accountSummary,
      next('AccountCreated', {
        ...created,
        accountHolder: '{"$gt": ""}',
        accountNumber: '$where',
        $set: { currentBalance: 1e9 },
        'status.$': 'frozen',
      }),
    );
    expect(view()).toMatchObject({
      accountHolder: '{"$gt": ""}',
      accountNumber: '$where',
      currentBalance: 1000,
      status: 'active',
    });
    expect(view()).not.toHaveProperty('$set');
  });

  it.each([
    ['AccountCreated', { ...created, accountNumber: 42 }, 'eventData.accountNumber'],
    ['AccountCreated', { ...created, accountHolder: '' }, 'eventData.accountHolder'],
    ['AccountCreated', { ...created, accountType: undefined }, 'eventData.accountType'],
    ['AccountCreated', { ...created, initialBalance: -1 }, 'eventData.initialBalance'],
    ['AccountCreated', { ...created, currency: { $ne: null } }, 'eventData.currency'],
    ['AccountCreated', { ...created, createdBy: 7 }, 'eventData.createdBy'],
    ['AccountCreated', { ...created, createdAt: 'yesterday' }, 'eventData.createdAt'],
    ['FundsDebited', { amount: '100' }, 'eventData.amount'],
    ['FundsDebited', { amount: 100, feeAmount: Number.NaN }, 'eventData.feeAmount'],
    ['FundsCredited', { amount: 1e12 + 1 }, 'eventData.amount'],
    ['DebitReversed', {}, 'eventData.amount'],
    ['AccountFrozen', { reason: ['x'] }, 'eventData.reason'],
    ['AccountFrozen', { frozenBy: {} }, 'eventData.frozenBy'],
    ['AccountFrozen', { frozenAt: 12 }, 'eventData.frozenAt'],
  ])('rejects %s with %j naming %s, writing nothing', async (type, data, field) => {
    const { store, next } = setup();
    if (type !== 'AccountCreated')
      await store.apply(accountSummary, next('AccountCreated', created));
    const before = store.dump();
    const err = await store.apply(accountSummary, next(type, data)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EventValidationError);
    expect((err as EventValidationError).field).toBe(field);
    expect((err as Error).message).toContain(field);
    expect(store.dump()).toEqual(before);
  });

  it('rejects an event whose timestamp is not a Date', async () => {
    const { store, next } = setup();
    const e = next(
      'FundsDebited',
      { amount: 1 },
      { eventTimestamp: '2025-01-01' as unknown as Date },
    );
    await expect(store.apply(accountSummary, e)).rejects.toMatchObject({
      name: 'EventValidationError',
      field: 'eventTimestamp',
    });
  });
});
