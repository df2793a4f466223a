import { describe, expect, it } from 'vitest';
import transactionHistory, {
  TRANSACTION_HISTORY_BALANCES,
  TRANSACTION_HISTORY_VIEW,
} from '../../projections/transaction-history.js';
import { EventValidationError } from '../../projections/lib/validate.js';
import { createMemoryStore, eventStream } from '../helpers/memoryContext.js';

const created = { accountNumber: 'A-1', accountHolder: 'Grace', accountType: 'savings' };
const debit = {
  transferId: 't-1',
  amount: 100,
  currency: 'USD',
  toAccountId: 'acc-2',
  reference: 'INV-9',
  description: 'rent',
  debitedBy: 'user-1',
  transferType: 'outbound',
  feeAmount: 1.5,
  exchangeRate: 1,
};
const credit = {
  transferId: 't-2',
  amount: 40,
  currency: 'USD',
  fromAccountId: 'acc-3',
  reference: 'R',
  description: 'refund',
  creditedBy: 'transfer-saga',
  transferType: 'inbound',
  feeAmount: 0,
  exchangeRate: 1.1,
};

function setup() {
  const store = createMemoryStore();
  const next = eventStream('acc-1');
  const row = (eventId: string) => store.get(TRANSACTION_HISTORY_VIEW, eventId);
  return { store, next, row };
}

describe('transaction-history', () => {
  it('declares its collections, including its running balances', () => {
    expect(transactionHistory.name).toBe('transaction-history');
    expect(transactionHistory.version).toBe(1);
    expect(transactionHistory.collections).toEqual([
      'transaction_history_view',
      'transaction_history_balances',
    ]);
    expect(transactionHistory.verifyIgnore).toEqual([]);
  });

  it('writes a debit row with every DOMAIN.md field', async () => {
    const { store, next, row } = setup();
    await store.apply(
      transactionHistory,
      next('AccountCreated', { ...created, initialBalance: 500 }),
    );
    const e = next('FundsDebited', debit, {
      eventMetadata: { sourceIp: '10.0.0.1', regulatoryFlags: ['large_transaction'] },
    });
    await store.apply(transactionHistory, e);
    expect(row(e.eventId)).toEqual({
      _id: e.eventId,
      transactionId: 't-1',
      accountId: 'acc-1',
      eventId: e.eventId,
      transactionType: 'FundsDebited',
      amount: 100,
      currency: 'USD',
      counterpartyAccountId: 'acc-2',
      reference: 'INV-9',
      description: 'rent',
      timestamp: e.eventTimestamp,
      feeAmount: 1.5,
      exchangeRate: 1,
      balanceAfter: 398.5,
      processedBy: 'user-1',
      sourceIp: '10.0.0.1',
      regulatoryFlags: ['large_transaction'],
    });
    expect(store.all(TRANSACTION_HISTORY_VIEW)).toHaveLength(1);
  });

  it('writes credit and reversal rows with their own counterparty, processor and text', async () => {
    const { store, next, row } = setup();
    await store.apply(transactionHistory, next('AccountCreated', { ...created, currency: 'GBP' }));
    const c = next('FundsCredited', credit);
    const r = next('DebitReversed', {
      transferId: 't-1',
      amount: 10,
      feeAmount: 1,
      reason: 'timeout',
    });
    await store.applyAll(transactionHistory, [c, r]);
    expect(row(c.eventId)).toMatchObject({
      transactionType: 'FundsCredited',
      counterpartyAccountId: 'acc-3',
      processedBy: 'transfer-saga',
      description: 'refund',
      exchangeRate: 1.1,
      balanceAfter: 40,
      sourceIp: null,
      regulatoryFlags: [],
    });
    // A reversal's payload has no currency: the account's currency (from AccountCreated) is used.
    expect(row(r.eventId)).toMatchObject({
      transactionId: 't-1',
      transactionType: 'DebitReversed',
      amount: 10,
      feeAmount: 1,
      currency: 'GBP',
      counterpartyAccountId: null,
      reference: null,
      description: 'timeout',
      processedBy: null,
      exchangeRate: 1,
      balanceAfter: 51,
    });
  });

  it('keeps balanceAfter right across debits, credits, fees and reversals', async () => {
    const { store, next } = setup();
    const events = [
      next('AccountCreated', { ...created, initialBalance: 1000 }),
      next('FundsDebited', { ...debit, amount: 200, feeAmount: 5 }),
      next('FundsCredited', { ...credit, amount: 50, feeAmount: 3 }), // a credit's fee is not charged
      next('FundsDebited', { ...debit, amount: 0.1, feeAmount: 0.2 }),
      next('DebitReversed', { transferId: 't-1', amount: 200, feeAmount: 5 }),
      next('FundsDebited', { ...debit, amount: 1045, feeAmount: 0 }),
    ];
    await store.applyAll(transactionHistory, events);
    const after = events
      .slice(1)
      .map((e) => store.get(TRANSACTION_HISTORY_VIEW, e.eventId)?.balanceAfter);
    let b = 1000;
    const expected = [-(200 + 5), 50, -(0.1 + 0.2), 200 + 5, -(1045 + 0)].map((d) => (b = b + d));
    expect(after).toEqual(expected);
    expect(after[0]).toBe(795);
    expect(after[1]).toBe(845);
    expect(store.get(TRANSACTION_HISTORY_BALANCES, 'acc-1')).toMatchObject({
      balance: expected.at(-1),
      version: 6,
    });
  });

  it('starts from 0 for an account whose creation it never saw', async () => {
    const { store, next, row } = setup();
    const e = next('FundsCredited', credit, { version: 7 });
    await store.apply(transactionHistory, e);
    expect(row(e.eventId)).toMatchObject({ balanceAfter: 40, currency: 'USD' });
  });

  it('applies a redelivered event once', async () => {
    const { store, next, row } = setup();
    await store.apply(
      transactionHistory,
      next('AccountCreated', { ...created, initialBalance: 100 }),
    );
    const d = next('FundsDebited', { ...debit, amount: 10, feeAmount: 0 });
    await store.apply(transactionHistory, d);
    await store.apply(transactionHistory, d);
    const later = next('FundsDebited', { ...debit, amount: 10, feeAmount: 0 });
    await store.apply(transactionHistory, later);
    await store.apply(transactionHistory, d); // an old event redelivered after a newer one
    expect(row(d.eventId)?.balanceAfter).toBe(90);
    expect(row(later.eventId)?.balanceAfter).toBe(80);
    expect(store.all(TRANSACTION_HISTORY_VIEW)).toHaveLength(2);
  });

  it('recomputes the same balanceAfter when a crash landed the balance but not the row', async () => {
    const { store, next, row } = setup();
    await store.apply(
      transactionHistory,
      next('AccountCreated', { ...created, initialBalance: 100 }),
    );
    const d = next('FundsDebited', { ...debit, amount: 30, feeAmount: 1 });
    await store.apply(transactionHistory, d, { land: (w) => w.op === 'upsert' });
    expect(row(d.eventId)).toBeUndefined();
    await store.apply(transactionHistory, d);
    expect(row(d.eventId)?.balanceAfter).toBe(69);
    const n = next('FundsCredited', { ...credit, amount: 1 });
    await store.apply(transactionHistory, n);
    expect(row(n.eventId)?.balanceAfter).toBe(70);
  });

  it('recomputes the same balanceAfter when a crash landed the row but not the balance', async () => {
    const { store, next, row } = setup();
    await store.apply(
      transactionHistory,
      next('AccountCreated', { ...created, initialBalance: 100 }),
    );
    const d = next('FundsDebited', { ...debit, amount: 30, feeAmount: 1 });
    await store.apply(transactionHistory, d, { land: (w) => w.op === 'insertOnce' });
    await store.apply(transactionHistory, d);
    expect(row(d.eventId)?.balanceAfter).toBe(69);
    expect(store.get(TRANSACTION_HISTORY_BALANCES, 'acc-1')?.balance).toBe(69);
  });

  it('stores operator-looking values as plain data', async () => {
    const { store, next, row } = setup();
    const e = next(
      'FundsDebited',
      { ...debit, reference: '{"$gt": ""}', description: '$where', $inc: { balanceAfter: 5 } },
      { eventMetadata: { regulatoryFlags: ['$set'], sourceIp: '{"$ne": null}' } },
    );
    await store.apply(transactionHistory, e);
    expect(row(e.eventId)).toMatchObject({
      reference: '{"$gt": ""}',
      description: '$where',
      regulatoryFlags: ['$set'],
      sourceIp: '{"$ne": null}',
      balanceAfter: -101.5,
    });
    expect(row(e.eventId)).not.toHaveProperty('$inc');
  });

  it.each([
    ['FundsDebited', { ...debit, amount: -0.01 }, {}, 'eventData.amount'],
    ['FundsDebited', { ...debit, amount: Number.POSITIVE_INFINITY }, {}, 'eventData.amount'],
    ['FundsDebited', { ...debit, feeAmount: '1' }, {}, 'eventData.feeAmount'],
    ['FundsDebited', { ...debit, transferId: undefined }, {}, 'eventData.transferId'],
    ['FundsDebited', { ...debit, toAccountId: 5 }, {}, 'eventData.toAccountId'],
    ['FundsDebited', { ...debit, reference: { $gt: '' } }, {}, 'eventData.reference'],
    ['FundsDebited', { ...debit, description: false }, {}, 'eventData.description'],
    ['FundsDebited', { ...debit, debitedBy: [] }, {}, 'eventData.debitedBy'],
    ['FundsDebited', { ...debit, currency: 840 }, {}, 'eventData.currency'],
    ['FundsDebited', { ...debit, exchangeRate: 0 }, {}, 'eventData.exchangeRate'],
    ['FundsDebited', { ...debit, exchangeRate: 2e6 }, {}, 'eventData.exchangeRate'],
    [
      'FundsCredited',
      { ...credit, fromAccountId: null, creditedBy: 1 },
      {},
      'eventData.creditedBy',
    ],
    ['DebitReversed', { transferId: 't', amount: 1, reason: 2 }, {}, 'eventData.reason'],
    ['FundsDebited', debit, { eventMetadata: { sourceIp: 1 } }, 'eventMetadata.sourceIp'],
    [
      'FundsDebited',
      debit,
      { eventMetadata: { regulatoryFlags: 'x' } },
      'eventMetadata.regulatoryFlags',
    ],
    [
      'FundsDebited',
      debit,
      { eventMetadata: { regulatoryFlags: [1] } },
      'eventMetadata.regulatoryFlags',
    ],
    ['FundsDebited', debit, { eventTimestamp: new Date(Number.NaN) }, 'eventTimestamp'],
    ['FundsDebited', debit, { eventData: null }, 'eventData'],
    ['AccountCreated', { initialBalance: 'lots' }, {}, 'eventData.initialBalance'],
    ['AccountCreated', { currency: 1 }, {}, 'eventData.currency'],
  ])('rejects %s %j %j naming %s, writing nothing', async (type, data, over, field) => {
    const { store, next } = setup();
    await store.apply(transactionHistory, next('AccountCreated', created));
    const before = store.dump();
    const e = next(type, data, over);
    const err = await store.apply(transactionHistory, e).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(EventValidationError);
    expect((err as EventValidationError).field).toBe(field);
    expect(store.dump()).toEqual(before);
  });
});
