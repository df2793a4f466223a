import { describe, expect, it } from 'vitest';
import accountSummary, { ACCOUNT_SUMMARY_VIEW } from '../../projections/account-summary.js';
import upcasters from '../../projections/upcasters.js';
import {
  DeadLetterError,
  eventStream,
  runModule,
  type TestEvent,
} from '../../src/modules/testing/index.js';

/**
 * account-summary on the module test kit (`projectord/testing`): each test hands the module a
 * list of events and reads back the view as the daemon would have written it, through the
 * daemon's own validation, upcasters, lanes, guards and writer (in memory).
 */
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

const account = () => eventStream('acc-1', { aggregateType: 'BankAccount', eventVersion: '2.0' });

/** The account's summary after the events (undefined: no document). */
async function view(events: readonly TestEvent[]) {
  const { docs } = await runModule(accountSummary, events, { now: NOW, upcasters });
  return docs[ACCOUNT_SUMMARY_VIEW]?.find((d) => d._id === 'acc-1');
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
    const a = account();
    expect(await view([a('AccountCreated', created)])).toEqual({
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
    const e = account()('AccountCreated', {
      accountNumber: 'A',
      accountHolder: 'B',
      accountType: 'C',
    });
    expect(await view([e])).toMatchObject({
      currentBalance: 0,
      currency: 'USD',
      createdAt: e.eventTimestamp,
      createdBy: null,
    });
  });

  it('moves the balance: debit − (amount + fee), credit + amount, reversal + (amount + fee)', async () => {
    const a = account();
    const opened = a('AccountCreated', created);
    const debit = a('FundsDebited', { amount: 100, feeAmount: 2.5 });
    expect((await view([opened, debit]))?.currentBalance).toBe(897.5);
    const credit = a('FundsCredited', { amount: 50, feeAmount: 0 });
    expect((await view([opened, debit, credit]))?.currentBalance).toBe(947.5);
    const reversal = a('DebitReversed', { amount: 100, feeAmount: 2.5, reason: 'no credit' });
    expect(await view([opened, debit, credit, reversal])).toMatchObject({
      currentBalance: 1050,
      lastTransactionAt: reversal.eventTimestamp,
      version: 4,
      status: 'active',
    });
  });

  it('upcasts a 1.0 debit (no fee) before applying it', async () => {
    const a = account();
    const opened = a('AccountCreated', created);
    const old = a('FundsDebited', { amount: 100 }, { eventVersion: '1.0' });
    expect((await view([opened, old]))?.currentBalance).toBe(900);
  });

  it('freezes with who, when and why', async () => {
    const a = account();
    const frozenAt = new Date('2025-03-02T00:00:00Z');
    const events = [
      a('AccountCreated', created),
      a('AccountFrozen', { reason: 'fraud score 85', frozenBy: 'fraud-saga', frozenAt }),
    ];
    expect(await view(events)).toMatchObject({
      status: 'frozen',
      frozenAt,
      frozenBy: 'fraud-saga',
      frozenReason: 'fraud score 85',
      currentBalance: 1000,
    });
    // A frozen account still records money that moves (e.g. a reversal).
    expect(await view([...events, a('DebitReversed', { amount: 5 })])).toMatchObject({
      status: 'frozen',
      currentBalance: 1005,
    });
  });

  it('applies a redelivered event once', async () => {
    const a = account();
    const opened = a('AccountCreated', created);
    const debit = a('FundsDebited', { amount: 10 });
    expect((await view([opened, debit, debit]))?.currentBalance).toBe(990);
  });

  it('stores operator-looking strings and ignores $-keys in eventData as plain data', async () => {
    const doc = await view([
      account()('AccountCreated', {
        ...created,
        accountHolder: '{"$gt": ""}',
        accountNumber: '$where',
        $set: { currentBalance: 1e9 },
        'status.$': 'frozen',
      }),
    ]);
    expect(doc).toMatchObject({
      accountHolder: '{"$gt": ""}',
      accountNumber: '$where',
      currentBalance: 1000,
      status: 'active',
    });
    expect(doc).not.toHaveProperty('$set');
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
  ])('dead-letters %s with %j naming %s, writing nothing', async (type, data, field) => {
    const a = account();
    const before = type === 'AccountCreated' ? [] : [a('AccountCreated', created)];
    const bad = a(type, data);
    const err = await view([...before, bad]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadLetterError);
    const dead = err as DeadLetterError;
    expect(dead.field).toBe(field);
    expect(dead.error?.message).toContain(field);
    expect(dead.deadLetters).toMatchObject([{ eventId: bad.eventId, status: 'parked' }]);
    // Nothing of the bad event was written: the view is what the events before it made.
    const { docs } = await runModule(accountSummary, [...before, bad], {
      now: NOW,
      deadLetters: 'return',
    });
    expect(docs[ACCOUNT_SUMMARY_VIEW]).toEqual(before.length === 0 ? [] : [await view(before)]);
  });

  it('dead-letters an event without a valid time before the module sees it', async () => {
    const bad = account()(
      'FundsDebited',
      { amount: 1 },
      {
        eventTimestamp: '2025-01-01',
        storedAt: undefined,
      },
    );
    await expect(view([bad])).rejects.toMatchObject({
      name: 'DeadLetterError',
      field: 'eventTimestamp',
      deadLetters: [{ status: 'invalid' }],
    });
  });
});
