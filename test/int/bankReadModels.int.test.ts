import { isDeepStrictEqual } from 'node:util';
import type { Document } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventStore } from '../../src/events/eventStore.js';
import { bankConfig, useBankDaemons } from '../helpers/bankDaemon.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';

/**
 * The four bank projections through the real daemon (runDaemon, MongoDB over the wire), checked
 * document by document against DOMAIN.md "Read models" for a scripted history: fees, a credit,
 * a DebitReversed, freezes, a foreign-currency debit, movements on two UTC days (one debit at
 * 23:30 and its reversal at 00:10 the next day), and an account with more events than the
 * snapshot interval (bank.snapshotEveryEvents = 3). The first day is in event_store before the
 * start (catch-up), the second arrives on the change stream.
 *
 * Whole documents are compared with toEqual, so a missing or an extra field fails. The only
 * fields left out are named in BOOKKEEPING: values from the daemon's clock, and the `version`
 * the engine's guard stores where DOMAIN.md does not list it.
 */
const PROJECTIONS = [
  'account-summary',
  'aggregate-snapshots',
  'balance-projections',
  'transaction-history',
] as const;
const SNAPSHOT_EVERY = 3;

const D1 = '2024-03-10';
const D2 = '2024-03-11';
const at = (day: string, time: string) => new Date(`${day}T${time}Z`);

interface Scripted {
  aggregateId: string;
  version: number;
  eventType: string;
  time: Date;
  data: Document;
  flags?: string[];
}

function toStored(e: Scripted): Document {
  return {
    eventId: `ev-${e.aggregateId}-${e.version}`,
    aggregateId: e.aggregateId,
    aggregateType: 'BankAccount',
    eventType: e.eventType,
    eventVersion: e.eventType === 'FundsDebited' || e.eventType === 'FundsCredited' ? '2.0' : '1.0',
    version: e.version,
    eventTimestamp: e.time,
    storedAt: new Date(),
    commandId: `cmd-${e.aggregateId}-${e.version}`,
    eventData: e.data,
    eventMetadata: {
      sourceIp: `10.1.0.${e.version}`,
      userAgent: 'bank-read-models-test',
      regulatoryFlags: e.flags ?? [],
    },
  };
}

const created = (
  id: string,
  version: number,
  time: Date,
  initialBalance: number,
  currency = 'USD',
) => ({
  aggregateId: id,
  version,
  eventType: 'AccountCreated',
  time,
  data: {
    accountNumber: `NO-${id}`,
    accountHolder: `Holder ${id}`,
    accountType: 'checking',
    initialBalance,
    currency,
    createdBy: 'teller-1',
    createdAt: time,
  },
});

const debit = (
  id: string,
  version: number,
  time: Date,
  t: {
    transferId: string;
    to: string;
    amount: number;
    fee: number;
    currency?: string;
    rate?: number;
  },
) => ({
  aggregateId: id,
  version,
  eventType: 'FundsDebited',
  time,
  data: {
    transferId: t.transferId,
    amount: t.amount,
    currency: t.currency ?? 'USD',
    toAccountId: t.to,
    reference: `ref-${t.transferId}`,
    description: `debit ${t.transferId}`,
    debitedBy: `customer:${id}`,
    debitedAt: time,
    transferType: 'outbound',
    feeAmount: t.fee,
    exchangeRate: t.rate ?? 1,
  },
});

const credit = (
  id: string,
  version: number,
  time: Date,
  t: { transferId: string; from: string; amount: number },
) => ({
  aggregateId: id,
  version,
  eventType: 'FundsCredited',
  time,
  data: {
    transferId: t.transferId,
    amount: t.amount,
    currency: 'USD',
    fromAccountId: t.from,
    reference: `ref-${t.transferId}`,
    description: `credit ${t.transferId}`,
    creditedBy: 'bank-core',
    creditedAt: time,
    transferType: 'inbound',
    feeAmount: 0,
    exchangeRate: 1,
  },
});

const frozen = (id: string, version: number, time: Date) => ({
  aggregateId: id,
  version,
  eventType: 'AccountFrozen',
  time,
  data: {
    reason: `review of ${id}`,
    frozenBy: 'compliance-officer',
    frozenAt: time,
    expectedDuration: '30d',
    complianceReference: `CR-${id}`,
  },
});

// acc-a: 1000 → −102.5 → +50 → −201 (23:30) | +201 reversal (00:10) → −30 → −10.75 = 906.75
// acc-b: 0 → +100 → −50 = 50 | frozen
// acc-c (EUR): 250 | −20 at rate 1.1 = 230 → frozen (3 events = one snapshot at version 3)
const DAY_ONE: Scripted[] = [
  created('acc-a', 1, at(D1, '08:00:00.000'), 1000),
  created('acc-b', 1, at(D1, '08:30:00.000'), 0),
  created('acc-c', 1, at(D1, '08:45:00.000'), 250, 'EUR'),
  debit('acc-a', 2, at(D1, '09:00:00.000'), {
    transferId: 't1',
    to: 'acc-b',
    amount: 100,
    fee: 2.5,
  }),
  credit('acc-b', 2, at(D1, '09:00:01.000'), { transferId: 't1', from: 'acc-a', amount: 100 }),
  debit('acc-b', 3, at(D1, '09:59:00.000'), { transferId: 't2', to: 'acc-a', amount: 50, fee: 0 }),
  credit('acc-a', 3, at(D1, '10:00:00.000'), { transferId: 't2', from: 'acc-b', amount: 50 }),
  debit('acc-a', 4, at(D1, '23:30:00.000'), {
    transferId: 't3',
    to: 'acc-gone',
    amount: 200,
    fee: 1,
  }),
];
const DAY_TWO: Scripted[] = [
  {
    aggregateId: 'acc-a',
    version: 5,
    eventType: 'DebitReversed',
    time: at(D2, '00:10:00.000'),
    data: { transferId: 't3', amount: 200, feeAmount: 1, reason: 'destination account not found' },
  },
  frozen('acc-b', 4, at(D2, '08:00:00.000')),
  debit('acc-a', 6, at(D2, '12:00:00.000'), {
    transferId: 't4',
    to: 'acc-ext',
    amount: 30,
    fee: 0,
  }),
  {
    ...debit('acc-c', 2, at(D2, '12:30:00.000'), {
      transferId: 't6',
      to: 'acc-ext',
      amount: 20,
      fee: 0,
      currency: 'EUR',
      rate: 1.1,
    }),
    flags: ['foreign_currency'],
  },
  debit('acc-a', 7, at(D2, '13:00:00.000'), {
    transferId: 't5',
    to: 'acc-ext',
    amount: 10.25,
    fee: 0.5,
  }),
  frozen('acc-c', 3, at(D2, '14:00:00.000')),
];

const time = (id: string, version: number): Date =>
  [...DAY_ONE, ...DAY_TWO].find((e) => e.aggregateId === id && e.version === version)!.time;

// ---- the expected read models, written out by hand from DOMAIN.md ----

const opened = (id: string, currency = 'USD') => ({
  accountNumber: `NO-${id}`,
  accountHolder: `Holder ${id}`,
  accountType: 'checking',
  currency,
  createdAt: time(id, 1),
  createdBy: 'teller-1',
});
const notFrozen = { frozenAt: null, frozenBy: null, frozenReason: null };
const frozenBy = (id: string, version: number) => ({
  frozenAt: time(id, version),
  frozenBy: 'compliance-officer',
  frozenReason: `review of ${id}`,
});

const SUMMARIES = [
  {
    _id: 'acc-a',
    ...opened('acc-a'),
    currentBalance: 906.75,
    status: 'active',
    lastTransactionAt: time('acc-a', 7),
    version: 7,
    ...notFrozen,
  },
  {
    _id: 'acc-b',
    ...opened('acc-b'),
    currentBalance: 50,
    status: 'frozen',
    lastTransactionAt: time('acc-b', 3),
    version: 4,
    ...frozenBy('acc-b', 4),
  },
  {
    _id: 'acc-c',
    ...opened('acc-c', 'EUR'),
    currentBalance: 230,
    status: 'frozen',
    lastTransactionAt: time('acc-c', 2),
    version: 3,
    ...frozenBy('acc-c', 3),
  },
];

function row(
  id: string,
  version: number,
  r: {
    type: string;
    transferId: string;
    amount: number;
    fee: number;
    balanceAfter: number;
    counterparty: string | null;
    currency?: string;
    rate?: number;
    flags?: string[];
  },
) {
  const eventId = `ev-${id}-${version}`;
  const reversal = r.type === 'DebitReversed';
  return {
    _id: eventId,
    transactionId: r.transferId,
    accountId: id,
    eventId,
    transactionType: r.type,
    amount: r.amount,
    currency: r.currency ?? 'USD',
    counterpartyAccountId: r.counterparty,
    reference: reversal ? null : `ref-${r.transferId}`,
    description: reversal
      ? 'destination account not found'
      : `${r.type === 'FundsDebited' ? 'debit' : 'credit'} ${r.transferId}`,
    timestamp: time(id, version),
    feeAmount: r.fee,
    exchangeRate: r.rate ?? 1,
    balanceAfter: r.balanceAfter,
    processedBy: reversal ? null : r.type === 'FundsDebited' ? `customer:${id}` : 'bank-core',
    sourceIp: `10.1.0.${version}`,
    regulatoryFlags: r.flags ?? [],
  };
}
const D = 'FundsDebited';
const C = 'FundsCredited';
const HISTORY = [
  row('acc-a', 2, {
    type: D,
    transferId: 't1',
    amount: 100,
    fee: 2.5,
    balanceAfter: 897.5,
    counterparty: 'acc-b',
  }),
  row('acc-a', 3, {
    type: C,
    transferId: 't2',
    amount: 50,
    fee: 0,
    balanceAfter: 947.5,
    counterparty: 'acc-b',
  }),
  row('acc-a', 4, {
    type: D,
    transferId: 't3',
    amount: 200,
    fee: 1,
    balanceAfter: 746.5,
    counterparty: 'acc-gone',
  }),
  // The reversal has no currency of its own: the account's is used (transaction-history.ts).
  row('acc-a', 5, {
    type: 'DebitReversed',
    transferId: 't3',
    amount: 200,
    fee: 1,
    balanceAfter: 947.5,
    counterparty: null,
  }),
  row('acc-a', 6, {
    type: D,
    transferId: 't4',
    amount: 30,
    fee: 0,
    balanceAfter: 917.5,
    counterparty: 'acc-ext',
  }),
  row('acc-a', 7, {
    type: D,
    transferId: 't5',
    amount: 10.25,
    fee: 0.5,
    balanceAfter: 906.75,
    counterparty: 'acc-ext',
  }),
  row('acc-b', 2, {
    type: C,
    transferId: 't1',
    amount: 100,
    fee: 0,
    balanceAfter: 100,
    counterparty: 'acc-a',
  }),
  row('acc-b', 3, {
    type: D,
    transferId: 't2',
    amount: 50,
    fee: 0,
    balanceAfter: 50,
    counterparty: 'acc-a',
  }),
  row('acc-c', 2, {
    type: D,
    transferId: 't6',
    amount: 20,
    fee: 0,
    balanceAfter: 230,
    counterparty: 'acc-ext',
    currency: 'EUR',
    rate: 1.1,
    flags: ['foreign_currency'],
  }),
];

const dayDoc = (
  id: string,
  day: string,
  d: {
    opening: number;
    closing: number;
    debits: number;
    credits: number;
    fees: number;
    nDebits: number;
    nCredits: number;
  },
) => ({
  _id: `${id}:${day}`,
  accountId: id,
  day,
  openingBalance: d.opening,
  closingBalance: d.closing,
  debitsTotal: d.debits,
  creditsTotal: d.credits,
  feesTotal: d.fees,
  debitCount: d.nDebits,
  creditCount: d.nCredits,
});
const DAYS = [
  dayDoc('acc-a', D1, {
    opening: 1000,
    closing: 746.5,
    debits: 300,
    credits: 50,
    fees: 3.5,
    nDebits: 2,
    nCredits: 1,
  }),
  // The reversal counts as a credit of amount + fee (balance-projections.ts); fees stay those charged.
  dayDoc('acc-a', D2, {
    opening: 746.5,
    closing: 906.75,
    debits: 40.25,
    credits: 201,
    fees: 0.5,
    nDebits: 2,
    nCredits: 1,
  }),
  dayDoc('acc-b', D1, {
    opening: 0,
    closing: 50,
    debits: 50,
    credits: 100,
    fees: 0,
    nDebits: 1,
    nCredits: 1,
  }),
  // acc-b's freeze on D2 moves no money: no document for that day.
  dayDoc('acc-c', D2, {
    opening: 250,
    closing: 230,
    debits: 20,
    credits: 0,
    fees: 0,
    nDebits: 1,
    nCredits: 0,
  }),
];

const state = (
  id: string,
  s: { balance: number; currency?: string; last: Date; frozen?: number },
) => ({
  ...opened(id, s.currency),
  balance: s.balance,
  status: s.frozen === undefined ? 'active' : 'frozen',
  lastTransactionAt: s.last,
  ...(s.frozen === undefined ? notFrozen : frozenBy(id, s.frozen)),
});
const SNAPSHOTS = [
  // Every 3 events: acc-a at 3 and 6 (its 7th event is no multiple), acc-b at 3, acc-c at 3.
  {
    _id: 'acc-a',
    aggregateId: 'acc-a',
    aggregateType: 'BankAccount',
    version: 6,
    snapshotData: state('acc-a', { balance: 917.5, last: time('acc-a', 6) }),
  },
  {
    _id: 'acc-b',
    aggregateId: 'acc-b',
    aggregateType: 'BankAccount',
    version: 3,
    snapshotData: state('acc-b', { balance: 50, last: time('acc-b', 3) }),
  },
  {
    _id: 'acc-c',
    aggregateId: 'acc-c',
    aggregateType: 'BankAccount',
    version: 3,
    snapshotData: state('acc-c', {
      balance: 230,
      currency: 'EUR',
      last: time('acc-c', 2),
      frozen: 3,
    }),
  },
];

/** Fields left out of the comparison, per collection: why is in the file's doc comment. */
const BOOKKEEPING: Record<string, readonly string[]> = {
  account_summary_view: ['lastUpdated'],
  transaction_history_view: [],
  balance_projections_view: ['version'],
  aggregate_snapshots: ['snapshotTimestamp'],
};

describe('bank read models, document by document', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  const daemons = useBankDaemons();
  beforeAll(async () => {
    ctx = await useTestDb('bank_models');
  });

  /** The collection sorted by _id, bookkeeping fields checked for presence and removed. */
  async function read(collection: string): Promise<Document[]> {
    const docs = await ctx.db
      .collection<{ _id: string }>(collection)
      .find({})
      .sort({ _id: 1 })
      .toArray();
    return docs.map((d) => {
      const rest: Document = { ...d };
      for (const field of BOOKKEEPING[collection] ?? []) {
        if (!(field in rest)) throw new Error(`${collection} ${d._id} has no ${field}`);
        delete rest[field];
      }
      return rest;
    });
  }
  const allModels = async () => ({
    account_summary_view: await read('account_summary_view'),
    transaction_history_view: await read('transaction_history_view'),
    balance_projections_view: await read('balance_projections_view'),
    aggregate_snapshots: await read('aggregate_snapshots'),
  });
  const EXPECTED = {
    account_summary_view: SUMMARIES,
    transaction_history_view: HISTORY,
    balance_projections_view: DAYS,
    aggregate_snapshots: SNAPSHOTS,
  };

  it('writes exactly the documents DOMAIN.md describes, in catch-up and live', async () => {
    await eventStore(ctx.db).insertMany(DAY_ONE.map(toStored));
    const config = bankConfig(ctx.dbName, {
      modules: { enabled: [...PROJECTIONS] },
      bank: { snapshotEveryEvents: SNAPSHOT_EVERY },
    });
    const daemon = await daemons.start(config, undefined, PROJECTIONS);
    for (const e of DAY_TWO) await eventStore(ctx.db).insertOne(toStored(e));

    // Wait for the last event of each account in every model, then compare everything.
    await waitFor(
      async () => {
        daemon.assertAlive();
        const m = await allModels().catch(() => undefined);
        return m && isDeepStrictEqual(m, EXPECTED);
      },
      { timeoutMs: 30_000, what: 'the read models to reach the scripted end state' },
    ).catch(() => undefined);
    const models = await allModels();
    expect(models.account_summary_view).toEqual(SUMMARIES);
    expect(models.transaction_history_view).toEqual(HISTORY);
    expect(models.balance_projections_view).toEqual(DAYS);
    expect(models.aggregate_snapshots).toEqual(SNAPSHOTS);

    // The clock-written fields exist and are times.
    const summaries = await ctx.db.collection('account_summary_view').find({}).toArray();
    for (const s of summaries) expect(s.lastUpdated).toBeInstanceOf(Date);
    const snapshots = await ctx.db.collection('aggregate_snapshots').find({}).toArray();
    for (const s of snapshots) expect(s.snapshotTimestamp).toBeInstanceOf(Date);
  });
});
