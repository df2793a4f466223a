import type { Document } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_SUMMARY_VIEW } from '../../projections/account-summary.js';
import { CREDITED_BY } from '../../projections/lib/saga-transfer-events.js';
import { TRANSFER_SAGA_STATE } from '../../projections/lib/saga-transfer-state.js';
import {
  createDeadlineStore,
  deadlineDocId,
  SAGA_DEADLINES,
  type StoredDeadline,
} from '../../src/reactions/deadlines.js';
import {
  repeatedEffects,
  storedEvents,
  transferEvents,
  transferSagas,
  verifyProjections,
} from '../helpers/bankChecks.js';
import { bankConfig, settle, testClock, useBankDaemons } from '../helpers/bankDaemon.js';
import { bankWriter, type BankWriter } from '../helpers/bankEvents.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';

/**
 * The transfer saga through the whole daemon (runDaemon, every built-in module) against the
 * harness MongoDB: two-step transfers get their credit from the saga; transfers to a frozen or
 * an unknown account are reversed and the source is whole again; a credit that never came is
 * compensated by the timeout after a restart, exactly once.
 */
interface SagaDoc extends Document {
  _id: string;
  state: string;
  compensationReason: string | null;
  creditEventId: string | null;
  reversalEventId: string | null;
}

describe('bank transfers through the engine', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  let bank: BankWriter;
  const daemons = useBankDaemons();
  beforeAll(async () => {
    ctx = await useTestDb('bank_transfers');
    bank = bankWriter(ctx.db);
  });
  const sagaOf = (transferId: string) =>
    ctx.db.collection<SagaDoc>(TRANSFER_SAGA_STATE).findOne({ _id: transferId });
  const balanceOf = async (accountId: string) =>
    (
      await ctx.db.collection<Document & { _id: string }>(ACCOUNT_SUMMARY_VIEW).findOne({
        _id: accountId,
      })
    )?.currentBalance as number | undefined;

  it('credits two-step transfers and reverses those to a frozen or an unknown account', async () => {
    // Short grace so the saga's credits come within a scheduler poll or two.
    const config = bankConfig(ctx.dbName, {
      bank: { sagas: { transfer: { creditDelayMs: 200 } } },
    });
    const daemon = await daemons.start(config);
    await bank.open('src', 1_000);
    await bank.open('dst', 50);
    await bank.open('ice', 0);
    await bank.freeze('ice');
    await bank.open('payer-ice', 300);
    await bank.open('payer-gone', 400);
    const twoStep = [
      { transferId: 'T-1', amount: 100, fee: 2.5 },
      { transferId: 'T-2', amount: 40.25, fee: 0 },
      { transferId: 'T-3', amount: 9.99, fee: 1 },
    ];
    for (const t of twoStep) await bank.debit({ ...t, from: 'src', to: 'dst' });
    await bank.debit({ transferId: 'T-ice', from: 'payer-ice', to: 'ice', amount: 120, fee: 3 });
    await bank.debit({
      transferId: 'T-gone',
      from: 'payer-gone',
      to: 'nobody-here',
      amount: 75.5,
      fee: 1.25,
    });

    await waitFor(async () => (await transferSagas(ctx.db)).total === 5 || undefined, {
      what: 'five transfer sagas',
    });
    await settle(ctx.db, daemon);
    const sagas = await transferSagas(ctx.db);
    expect(sagas.open).toEqual([]);
    expect(sagas.byState).toEqual({ Completed: 3, Compensated: 2 });

    const events = await storedEvents(ctx.db);
    expect(repeatedEffects(events)).toEqual([]);
    for (const t of twoStep) {
      const [credit, ...more] = transferEvents(events, 'FundsCredited', t.transferId);
      expect(more).toEqual([]);
      expect(credit).toMatchObject({
        aggregateId: 'dst',
        eventData: { amount: t.amount, fromAccountId: 'src', creditedBy: CREDITED_BY },
        eventMetadata: { causationId: expect.any(String) as unknown },
      });
      expect(await sagaOf(t.transferId)).toMatchObject({
        state: 'Completed',
        creditEventId: credit!.eventId,
      });
      expect(transferEvents(events, 'DebitReversed', t.transferId)).toEqual([]);
    }
    for (const [transferId, source, reason] of [
      ['T-ice', 'payer-ice', 'destination_frozen'],
      ['T-gone', 'payer-gone', 'destination_unknown'],
    ] as const) {
      const reversals = transferEvents(events, 'DebitReversed', transferId);
      expect(reversals).toHaveLength(1);
      expect(reversals[0]).toMatchObject({ aggregateId: source, eventData: { reason } });
      expect(transferEvents(events, 'FundsCredited', transferId)).toEqual([]);
      expect(await sagaOf(transferId)).toMatchObject({
        state: 'Compensated',
        compensationReason: reason,
        reversalEventId: reversals[0]!.eventId,
      });
    }

    // Balances: two-step money moved (fees kept), reversed sources whole again (amount + fee back).
    expect(await balanceOf('src')).toBeCloseTo(1_000 - 102.5 - 40.25 - 10.99, 6);
    expect(await balanceOf('dst')).toBeCloseTo(50 + 100 + 40.25 + 9.99, 6);
    expect(await balanceOf('payer-ice')).toBeCloseTo(300, 6);
    expect(await balanceOf('payer-gone')).toBeCloseTo(400, 6);
    expect(await balanceOf('ice')).toBe(0);

    await daemon.stop();
    expect(await verifyProjections(ctx.db, config)).toEqual([]);
  });

  it('compensates a credit that never came once its timeout passed while the daemon was down', async () => {
    const clock = testClock();
    // The credit is not due while the first daemon runs; the timeout falls due while none does.
    const config = bankConfig(ctx.dbName, {
      bank: { sagas: { transfer: { creditDelayMs: 60_000, timeoutMs: 120_000 } } },
    });
    const first = await daemons.start(config, clock);
    await bank.open('late-src', 500);
    await bank.open('late-dst', 0);
    await bank.debit({
      transferId: 'T-late',
      from: 'late-src',
      to: 'late-dst',
      amount: 80,
      fee: 4,
    });
    const deadlines = ctx.db.collection<StoredDeadline>(SAGA_DEADLINES);
    const timeoutDoc = deadlineDocId('transfer-saga', 'T-late:timeout');
    await waitFor(
      async () =>
        (await sagaOf('T-late'))?.state === 'DebitCompleted' &&
        (await deadlines.findOne({ _id: timeoutDoc }))?.status === 'pending',
      { what: 'the saga to wait for the credit' },
    );
    await first.stop();

    clock.advance(5 * 60_000);
    const second = await daemons.start(config, clock);
    await waitFor(async () => (await sagaOf('T-late'))?.state === 'Compensated', {
      what: 'the transfer to be compensated after the restart',
    });
    await settle(ctx.db, second, { clock });
    await second.stop();
    const fired = await deadlines.find({ key: 'T-late' }).sort({ _id: 1 }).toArray();
    // Both were overdue at the restart: each fired on its first claim, and only once.
    expect(fired.map((d) => [d.id, d.status, d.attempts, d.lastError])).toEqual([
      ['T-late:credit:1', 'fired', 1, undefined],
      ['T-late:timeout', 'fired', 1, undefined],
    ]);
    // A third start fires what is due (a canary proves its scheduler polled) and nothing that
    // has fired already. The canary's transfer has no state: it is due long enough ago to be
    // dropped at once, not retried as a deadline whose saga state has not landed yet.
    await createDeadlineStore(ctx.db, clock.now).schedule('transfer-saga', {
      id: 'canary',
      key: 'no-such-transfer',
      dueAt: new Date(clock.now().getTime() - 10 * 60_000),
      payload: { kind: 'timeout' },
    });
    const third = await daemons.start(config, clock);
    const canary = deadlineDocId('transfer-saga', 'canary');
    await waitFor(async () => (await deadlines.findOne({ _id: canary }))?.status === 'fired', {
      what: 'the canary deadline to fire',
    });
    await settle(ctx.db, third, { clock });
    await third.stop();
    expect(await deadlines.find({ key: 'T-late' }).sort({ _id: 1 }).toArray()).toEqual(fired);

    const events = await storedEvents(ctx.db);
    expect(repeatedEffects(events)).toEqual([]);
    expect(transferEvents(events, 'FundsCredited', 'T-late')).toEqual([]);
    const reversals = transferEvents(events, 'DebitReversed', 'T-late');
    expect(reversals).toHaveLength(1);
    expect(reversals[0]).toMatchObject({
      aggregateId: 'late-src',
      eventData: { amount: 80, feeAmount: 4, reason: 'credit_timeout' },
    });
    expect(await sagaOf('T-late')).toMatchObject({
      state: 'Compensated',
      compensationReason: 'credit_timeout',
      reversalEventId: reversals[0]!.eventId,
    });
    expect(await balanceOf('late-src')).toBeCloseTo(500, 6);
    expect(await balanceOf('late-dst')).toBe(0);
  });

  // Regression: the saga used to reverse a debit to a frozen destination at once, before the
  // grace in which the command side may still write its own credit, so a one-step transfer
  // whose credit followed a moment later was both credited and reversed (money created).
  it('completes a one-step transfer to a frozen account whose own credit follows within the grace', async () => {
    const config = bankConfig(ctx.dbName, {
      bank: { sagas: { transfer: { creditDelayMs: 60_000 } } },
    });
    const daemon = await daemons.start(config);
    await bank.open('one-src', 200);
    await bank.open('one-ice', 0);
    await bank.freeze('one-ice');
    const t = { transferId: 'T-one', from: 'one-src', to: 'one-ice', amount: 30, fee: 1 };
    await bank.debit(t);
    await waitFor(async () => (await sagaOf('T-one')) !== null, { what: 'the saga to start' });
    // The command side's own credit (credits to a frozen account are allowed), well in the grace.
    await bank.credit(t);
    await settle(ctx.db, daemon);
    const events = await storedEvents(ctx.db);
    expect(transferEvents(events, 'DebitReversed', 'T-one')).toEqual([]);
    expect(await sagaOf('T-one')).toMatchObject({ state: 'Completed' });
    expect(await balanceOf('one-src')).toBeCloseTo(169, 6);
    expect(await balanceOf('one-ice')).toBeCloseTo(30, 6);
  });
});
