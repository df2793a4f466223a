import { describe, expect, it } from 'vitest';
import transferSaga, { TRANSFER_SAGA_STATE } from '../../projections/transfer-saga.js';
import { isEventValidationError } from '../../projections/lib/validate.js';
import type { EventData, ProjectorEvent } from '../../src/events/types.js';
import { reactionEventId } from '../../src/reactions/append.js';
import { createMemoryWorld, type MemoryWorld } from '../helpers/memoryReactionContext.js';

const SEC = 1_000;
const MIN = 60 * SEC;

function world(transfer: Record<string, number> = {}): MemoryWorld {
  const w = createMemoryWorld({ settings: { bank: { sagas: { transfer } } } });
  w.write('src', 'AccountCreated', { accountNumber: '1', initialBalance: 1_000 });
  w.write('dst', 'AccountCreated', { accountNumber: '2' });
  return w;
}

function debit(w: MemoryWorld, over: EventData = {}) {
  return w.write(
    'src',
    'FundsDebited',
    {
      transferId: 'T1',
      amount: 100,
      feeAmount: 2,
      currency: 'USD',
      toAccountId: 'dst',
      reference: 'inv-7',
      exchangeRate: 1,
      ...over,
    },
    { eventMetadata: { correlationId: 'corr-T1' } },
  );
}

const credit = (w: MemoryWorld, account = 'dst') =>
  w.write(account, 'FundsCredited', { transferId: 'T1', amount: 100, currency: 'USD' });

const state = (w: MemoryWorld) => w.get(TRANSFER_SAGA_STATE, 'T1');
const pending = (w: MemoryWorld) =>
  w
    .deadlines('transfer-saga')
    .filter((d) => d.status === 'pending')
    .map((d) => d.deadline.id)
    .sort();
const run = (w: MemoryWorld) => w.pump([transferSaga]);

describe('transfer saga: completing', () => {
  it('starts at the debit and completes when the command side writes the credit', async () => {
    const w = world();
    debit(w);
    await run(w);
    expect(state(w)).toMatchObject({
      state: 'DebitCompleted',
      sourceAccountId: 'src',
      destinationAccountId: 'dst',
      amount: 100,
      feeAmount: 2,
    });
    expect(pending(w)).toEqual(['T1:credit:1', 'T1:timeout']);
    const c = credit(w);
    await run(w);
    expect(state(w)).toMatchObject({ state: 'Completed', creditEventId: c.eventId });
    expect(pending(w)).toEqual([]);
    w.advance(10 * MIN);
    expect(await w.fireDue(transferSaga)).toBe(0);
    expect(w.ofType('FundsCredited')).toHaveLength(1);
    expect(w.ofType('DebitReversed')).toEqual([]);
  });

  it('completes at once when the credit arrived before the debit', async () => {
    const w = world();
    const c = credit(w);
    debit(w);
    await run(w);
    expect(state(w)).toMatchObject({ state: 'Completed', creditEventId: c.eventId });
    expect(pending(w)).toEqual([]);
    expect(w.ofType('FundsCredited')).toHaveLength(1);
  });

  it('issues the missing credit after the grace delay, once', async () => {
    const w = world();
    debit(w);
    await run(w);
    w.advance(2 * SEC);
    await w.fireDue(transferSaga);
    const issued = w.ofType('FundsCredited');
    expect(issued).toHaveLength(1);
    expect(issued[0]).toMatchObject({
      eventId: reactionEventId('transfer-saga', 'T1:credit'),
      aggregateId: 'dst',
      eventVersion: '2.0',
      eventData: {
        transferId: 'T1',
        amount: 100,
        currency: 'USD',
        fromAccountId: 'src',
        reference: 'inv-7',
        creditedBy: 'projectord:transfer-saga',
        transferType: 'inbound',
        feeAmount: 0,
        exchangeRate: 1,
      },
      eventMetadata: { correlationId: 'corr-T1' },
    });
    expect(state(w)?.state).toBe('CreditPending');
    await run(w);
    expect(state(w)).toMatchObject({ state: 'Completed', creditEventId: issued[0]?.eventId });
    expect(pending(w)).toEqual([]);
  });

  it('does not credit twice when a deadline fires again after a crash', async () => {
    const w = world();
    debit(w);
    await run(w);
    w.advance(2 * SEC);
    await w.fireDue(transferSaga, { crashBeforeCommit: true });
    expect(state(w)?.state).toBe('DebitCompleted');
    await w.fireDue(transferSaga);
    expect(w.ofType('FundsCredited')).toHaveLength(1);
    // The second firing finds its own credit in the destination's stream.
    expect(state(w)?.state).toBe('Completed');
  });

  it("finds the seed article's one-step credit in the source's own stream, and credits nothing", async () => {
    // storeEvents stamps a TransferFunds' credit with the source's aggregateId: it follows the
    // debit in the source's stream. A deadline firing before the credit is delivered must find
    // it there, or it would credit the destination a second time.
    const w = world();
    debit(w);
    await run(w);
    const c = credit(w, 'src');
    w.advance(2 * SEC);
    await w.fireDue(transferSaga);
    expect(state(w)).toMatchObject({ state: 'Completed', creditEventId: c.eventId });
    expect(w.ofType('FundsCredited')).toEqual([c]);
    await run(w);
    expect(state(w)).toMatchObject({ state: 'Completed', creditEventId: c.eventId });
    expect(pending(w)).toEqual([]);
  });

  it('never compensates at the timeout when the credit exists but was not seen yet', async () => {
    const w = world();
    debit(w);
    await run(w);
    w.advance(2 * SEC);
    await w.fireDue(transferSaga);
    w.advance(5 * MIN);
    await w.fireDue(transferSaga);
    expect(state(w)?.state).toBe('Completed');
    expect(w.ofType('DebitReversed')).toEqual([]);
  });
});

describe('transfer saga: compensating', () => {
  async function expectCompensated(w: MemoryWorld, reason: string) {
    const reversals = w.ofType('DebitReversed');
    expect(reversals).toHaveLength(1);
    expect(reversals[0]).toMatchObject({
      aggregateId: 'src',
      eventId: reactionEventId('transfer-saga', 'T1:reverse'),
      eventData: { transferId: 'T1', amount: 100, feeAmount: 2, currency: 'USD', reason },
      eventMetadata: { correlationId: 'corr-T1' },
    });
    expect(state(w)).toMatchObject({ state: 'Compensating', compensationReason: reason });
    await run(w);
    expect(state(w)).toMatchObject({
      state: 'Compensated',
      reversalEventId: reversals[0]?.eventId,
    });
    expect(pending(w)).toEqual([]);
    expect(w.ofType('FundsCredited')).toEqual([]);
  }

  it('reverses the debit when the destination does not exist, once the credit is due', async () => {
    const w = world();
    debit(w, { toAccountId: 'nobody' });
    await w.deliver(transferSaga, w.events.at(-1)!);
    expect(w.ofType('DebitReversed')).toHaveLength(0);
    w.advance(2 * SEC);
    await w.fireDue(transferSaga);
    await expectCompensated(w, 'destination_unknown');
  });

  it('reverses the debit when the destination is frozen, once the credit is due', async () => {
    const w = world();
    w.write('dst', 'AccountFrozen', { reason: 'kyc' });
    debit(w);
    await w.deliver(transferSaga, w.events.at(-1)!);
    w.advance(2 * SEC);
    await w.fireDue(transferSaga);
    await expectCompensated(w, 'destination_frozen');
  });

  it('never reverses a transfer to a frozen account whose credit the command side wrote', async () => {
    const w = world();
    w.write('dst', 'AccountFrozen', { reason: 'kyc' });
    debit(w);
    await w.deliver(transferSaga, w.events.at(-1)!);
    credit(w, 'dst');
    await run(w);
    w.advance(2 * SEC);
    await w.fireDue(transferSaga);
    expect(w.ofType('DebitReversed')).toHaveLength(0);
    expect(state(w)).toMatchObject({ state: 'Completed' });
  });

  it('reverses the debit when the destination is frozen before the credit is due', async () => {
    const w = world();
    debit(w);
    await run(w);
    w.write('dst', 'AccountFrozen', { reason: 'kyc' });
    w.advance(2 * SEC);
    await w.fireDue(transferSaga);
    await expectCompensated(w, 'destination_frozen');
  });

  it('retries a failing credit with doubling backoff, then compensates', async () => {
    const w = world({ maxRetries: 3, retryBaseDelayMs: 10 * SEC });
    w.contend((e) => e.eventType === 'FundsCredited');
    debit(w);
    await run(w);
    const dueTimes: number[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      const next = w.deadline('transfer-saga', `T1:credit:${attempt}`);
      expect(next?.status).toBe('pending');
      dueTimes.push(next!.deadline.dueAt.getTime());
      w.advance(next!.deadline.dueAt.getTime() - w.now().getTime());
      await w.fireDue(transferSaga);
      if (attempt < 4)
        expect(state(w)).toMatchObject({ state: 'CreditPending', creditAttempts: attempt });
    }
    const gaps = dueTimes.slice(1).map((t, i) => t - dueTimes[i]!);
    expect(gaps).toEqual([10 * SEC, 20 * SEC, 40 * SEC]);
    expect(w.deadline('transfer-saga', 'T1:credit:5')).toBeUndefined();
    await expectCompensated(w, 'credit_failed');
  });

  it('reverses the debit when the credit has not happened by the timeout', async () => {
    const w = world({ maxRetries: 100, retryBaseDelayMs: 60 * SEC });
    w.contend((e) => e.eventType === 'FundsCredited');
    debit(w);
    await run(w);
    w.advance(4 * MIN);
    await w.fireDue(transferSaga);
    expect(state(w)?.state).toBe('CreditPending');
    w.advance(MIN);
    await w.fireDue(transferSaga);
    await expectCompensated(w, 'credit_timeout');
  });

  it('reverses once even when the debit is redelivered after a crash', async () => {
    const w = world();
    const d = debit(w, { toAccountId: 'nobody' });
    await w.deliver(transferSaga, d, { crashBeforeCommit: true });
    await w.deliver(transferSaga, d);
    await w.deliver(transferSaga, d);
    w.advance(2 * SEC);
    await w.fireDue(transferSaga, { crashBeforeCommit: true });
    await w.fireDue(transferSaga);
    await expectCompensated(w, 'destination_unknown');
  });

  it('records a credit that arrives after the compensation for reconciliation', async () => {
    const w = world();
    debit(w, { toAccountId: 'nobody' });
    await run(w);
    w.advance(2 * SEC);
    await w.fireDue(transferSaga);
    const late = credit(w, 'nobody');
    await run(w);
    expect(state(w)).toMatchObject({ state: 'Compensated', lateCreditEventId: late.eventId });
  });
});

describe('transfer saga: bad events', () => {
  const cases: [string, string, EventData, string][] = [
    [
      'a debit without transferId',
      'FundsDebited',
      { amount: 1, currency: 'USD', toAccountId: 'dst' },
      'eventData.transferId',
    ],
    [
      'a debit without destination',
      'FundsDebited',
      { transferId: 'T1', amount: 1, currency: 'USD' },
      'eventData.toAccountId',
    ],
    [
      'a debit with a bad amount',
      'FundsDebited',
      { transferId: 'T1', amount: 'x', currency: 'USD', toAccountId: 'dst' },
      'eventData.amount',
    ],
    [
      'a debit with a bad exchange rate',
      'FundsDebited',
      { transferId: 'T1', amount: 1, currency: 'USD', toAccountId: 'dst', exchangeRate: 0 },
      'eventData.exchangeRate',
    ],
    [
      'a credit without transferId',
      'FundsCredited',
      { amount: 1, currency: 'USD' },
      'eventData.transferId',
    ],
    [
      'a reversal with a numeric transferId',
      'DebitReversed',
      { transferId: 5, amount: 1 },
      'eventData.transferId',
    ],
  ];
  it.each(cases)(
    'rejects %s, naming the field, and changes nothing',
    async (_w, type, data, field) => {
      const w = world();
      const e = w.write('src', type, data);
      const err: unknown = await w.deliver(transferSaga, e).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(isEventValidationError(err) && err.field).toBe(field);
      expect(w.all(TRANSFER_SAGA_STATE)).toEqual([]);
      expect(pending(w)).toEqual([]);
    },
  );

  it('orders by transferId, falling back to the aggregate for events without one', () => {
    const w = world();
    type Handled = Parameters<NonNullable<typeof transferSaga.orderingKey>>[0];
    const key = (e: ProjectorEvent) => transferSaga.orderingKey?.(e as Handled);
    expect(key(debit(w))).toBe('T1');
    expect(key(w.write('src', 'FundsDebited', { transferId: 7 }))).toBe('src');
  });
});
