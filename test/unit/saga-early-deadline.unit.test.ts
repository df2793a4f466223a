import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import reviewSaga, { COMPLIANCE_SAGA_STATE } from '../../projections/compliance-review-saga.js';
import fraudSaga, { FRAUD_SAGA_STATE } from '../../projections/fraud-saga.js';
import transferSaga, { TRANSFER_SAGA_STATE } from '../../projections/transfer-saga.js';
import { ProjectordError } from '../../src/lib/errors.js';
import type { ReactionDefinition } from '../../src/modules/types.js';
import { createMemoryWorld, type MemoryWorld } from '../helpers/memoryReactionContext.js';

/**
 * A saga schedules its deadlines at once but saves its state only after the handler returns;
 * a lost lease or a crash drops the save, and the event is handled again later. A deadline
 * that fires in between finds no state: it must fire again (not be consumed), or the saga,
 * whose deadline can no longer be scheduled again, never ends. And one whose state never comes
 * must not retry forever.
 */
const SEC = 1_000;
const MIN = 60 * SEC;
const DAY = 24 * 60 * MIN;

/**
 * What the real scheduler does with due deadlines: fires them oldest first; a failed fire goes
 * back to pending and is due again `retryMs` later (the store moves its dueAt). Only the
 * "no saga state yet" failure is expected here. Returns the ids that failed.
 */
async function schedulerRound(
  w: MemoryWorld,
  m: ReactionDefinition,
  retryMs = 30 * SEC,
): Promise<string[]> {
  const failed: string[] = [];
  for (;;) {
    try {
      await w.fireDue(m);
      return failed;
    } catch (e) {
      if (!(e instanceof ProjectordError) || e.code !== 'SAGA_STATE_MISSING') throw e;
      const d = w
        .deadlines(m.name)
        .filter((x) => x.status === 'pending' && x.deadline.dueAt <= w.now())
        .sort((a, b) => a.deadline.dueAt.getTime() - b.deadline.dueAt.getTime())[0];
      if (!d) throw new Error('a failed fire left no pending deadline');
      failed.push(d.deadline.id);
      d.deadline.dueAt = new Date(w.now().getTime() + retryMs);
    }
  }
}

const statuses = (w: MemoryWorld, module: string) =>
  Object.fromEntries(w.deadlines(module).map((d) => [d.deadline.id, d.status]));

/** The module with its deadline handler logging into `lines` (the world's logger is silent). */
function logging(m: ReactionDefinition, lines: Record<string, unknown>[]): ReactionDefinition {
  const logger: Logger = pino(
    { level: 'warn' },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  return { ...m, onDeadline: (d, ctx) => m.onDeadline?.(d, { ...ctx, logger }) };
}

describe('transfer saga: a deadline before the state write landed', () => {
  function world(): MemoryWorld {
    const w = createMemoryWorld();
    w.write('src', 'AccountCreated', { accountNumber: '1', initialBalance: 1_000 });
    w.write('dst', 'AccountCreated', { accountNumber: '2' });
    return w;
  }
  const debit = (w: MemoryWorld) =>
    w.write('src', 'FundsDebited', {
      transferId: 'T1',
      amount: 100,
      feeAmount: 2,
      currency: 'USD',
      toAccountId: 'dst',
    });
  const state = (w: MemoryWorld) => w.get(TRANSFER_SAGA_STATE, 'T1');

  it('fires again after the debit is handled again, and credits once', async () => {
    const w = world();
    const d = debit(w);
    // The owner lost its lease: the deadlines were scheduled, the state write was refused.
    await w.deliver(transferSaga, d, { crashBeforeCommit: true });
    expect(state(w)).toBeUndefined();
    w.advance(2 * SEC);
    expect(await schedulerRound(w, transferSaga)).toEqual(['T1:credit:1']);
    expect(statuses(w, 'transfer-saga')).toEqual({
      'T1:credit:1': 'pending',
      'T1:timeout': 'pending',
    });
    // The new owner handles the debit again (its checkpoint never moved past it).
    await w.deliver(transferSaga, d);
    expect(state(w)?.state).toBe('DebitCompleted');
    w.advance(2 * SEC);
    expect(await schedulerRound(w, transferSaga)).toEqual([]);
    expect(w.ofType('FundsCredited')).toHaveLength(1);
    await w.pump([transferSaga]);
    expect(state(w)?.state).toBe('Completed');
    expect(w.ofType('DebitReversed')).toEqual([]);
  });

  it('converges when both deadlines fell due before the debit was handled again', async () => {
    const w = world();
    const d = debit(w);
    await w.deliver(transferSaga, d, { crashBeforeCommit: true });
    w.advance(4 * MIN); // down a while: the credit is overdue, the timeout nearly so
    expect(await schedulerRound(w, transferSaga)).toEqual(['T1:credit:1']);
    w.advance(MIN);
    expect(await schedulerRound(w, transferSaga)).toEqual(['T1:credit:1', 'T1:timeout']);
    await w.deliver(transferSaga, d);
    for (let i = 0; i < 10 && state(w)?.state === 'DebitCompleted'; i++) {
      w.advance(30 * SEC);
      await schedulerRound(w, transferSaga);
    }
    await w.pump([transferSaga]);
    expect(state(w)?.state).toBe('Completed');
    expect(w.ofType('FundsCredited')).toHaveLength(1);
    expect(w.ofType('DebitReversed')).toEqual([]);
  });

  it('drops a deadline whose state never comes once it is overdue by the timeout, with an error', async () => {
    const lines: Record<string, unknown>[] = [];
    const saga = logging(transferSaga, lines);
    const w = world();
    await w.deliver(saga, debit(w), { crashBeforeCommit: true });
    const start = w.now().getTime();
    const retried: string[] = [];
    // The debit is never handled again (skipped from the dead letters, say).
    for (let i = 0; i < 100 && Object.values(statuses(w, saga.name)).includes('pending'); i++) {
      w.advance(30 * SEC);
      retried.push(...(await schedulerRound(w, saga)));
      const creditOverdueMs = w.now().getTime() - (start + 2 * SEC);
      if (creditOverdueMs <= 5 * MIN) {
        expect(w.deadline(saga.name, 'T1:credit:1')?.status).toBe('pending');
      }
    }
    expect(statuses(w, saga.name)).toEqual({ 'T1:credit:1': 'fired', 'T1:timeout': 'fired' });
    expect(retried.length).toBeGreaterThan(2);
    expect(w.now().getTime() - start).toBeGreaterThan(10 * MIN);
    expect(w.now().getTime() - start).toBeLessThan(11 * MIN);
    const dropped = lines.filter((l) => l.level === 50);
    expect(dropped.map((l) => [l.transferId, l.deadline])).toEqual([
      ['T1', 'T1:credit:1'],
      ['T1', 'T1:timeout'],
    ]);
    expect(w.all(TRANSFER_SAGA_STATE)).toEqual([]);
    expect(w.ofType('FundsCredited')).toEqual([]);
    expect(w.ofType('DebitReversed')).toEqual([]);
  });
});

describe('compliance review saga: a deadline before the state write landed', () => {
  it('marks the review overdue after the debit is handled again', async () => {
    const w = createMemoryWorld();
    const d = w.write('acc-1', 'FundsDebited', {
      transferId: 'T1',
      amount: 10_000,
      currency: 'USD',
      toAccountId: 'dst',
    });
    await w.deliver(reviewSaga, d, { crashBeforeCommit: true });
    w.advance(72 * 60 * MIN);
    expect(await schedulerRound(w, reviewSaga)).toEqual(['review-T1:review-deadline']);
    await w.deliver(reviewSaga, d);
    expect(w.get(COMPLIANCE_SAGA_STATE, 'review-T1')?.state).toBe('awaiting_review');
    w.advance(72 * 60 * MIN);
    expect(await schedulerRound(w, reviewSaga)).toEqual([]);
    expect(w.get(COMPLIANCE_SAGA_STATE, 'review-T1')).toMatchObject({
      state: 'overdue',
      overdue: true,
    });
    expect(w.ofType('ComplianceReviewRequired')).toHaveLength(1);
  });

  it('drops a deadline whose state never comes after the saga timeout, with an error', async () => {
    const lines: Record<string, unknown>[] = [];
    const saga = logging(reviewSaga, lines);
    const w = createMemoryWorld();
    const d = w.write('acc-1', 'FundsDebited', {
      transferId: 'T1',
      amount: 10_000,
      currency: 'USD',
      toAccountId: 'dst',
    });
    await w.deliver(saga, d, { crashBeforeCommit: true });
    for (let i = 0; i < 100 && Object.values(statuses(w, saga.name)).includes('pending'); i++) {
      w.advance(DAY);
      await schedulerRound(w, saga, DAY);
    }
    expect(statuses(w, saga.name)).toEqual({
      'review-T1:review-deadline': 'fired',
      'review-T1:timeout': 'fired',
    });
    // The review deadline (due at 3 days) is dropped past 3 + 7 days, the timeout past 14.
    expect(w.now().getTime() - d.eventTimestamp.getTime()).toBe(15 * DAY);
    expect(lines.filter((l) => l.level === 50).map((l) => l.reviewId)).toEqual([
      'review-T1',
      'review-T1',
    ]);
  });
});

describe('fraud saga: a deadline before the state write landed', () => {
  const detect = (w: MemoryWorld) =>
    w.write('acc-1', 'SuspiciousActivityDetected', { reasons: ['structuring'], riskScore: 30 });
  const state = (w: MemoryWorld) => w.get(FRAUD_SAGA_STATE, 'acc-1');

  it('clears the first case after the detection is handled again', async () => {
    const w = createMemoryWorld();
    const d = detect(w);
    await w.deliver(fraudSaga, d, { crashBeforeCommit: true });
    w.advance(30 * DAY);
    expect(await schedulerRound(w, fraudSaga)).toEqual(['acc-1:case-1:monitoring']);
    await w.deliver(fraudSaga, d);
    w.advance(30 * DAY);
    expect(await schedulerRound(w, fraudSaga)).toEqual([]);
    expect(state(w)).toMatchObject({ state: 'cleared', caseNumber: 1 });
  });

  it('clears a later case whose state write was lost (the earlier case still stored)', async () => {
    const w = createMemoryWorld();
    detect(w);
    await w.pump([fraudSaga]);
    w.advance(30 * DAY);
    await schedulerRound(w, fraudSaga);
    expect(state(w)).toMatchObject({ state: 'cleared', caseNumber: 1 });
    const d = detect(w);
    await w.deliver(fraudSaga, d, { crashBeforeCommit: true });
    w.advance(30 * DAY);
    expect(await schedulerRound(w, fraudSaga)).toEqual(['acc-1:case-2:monitoring']);
    await w.deliver(fraudSaga, d);
    expect(state(w)).toMatchObject({ state: 'monitoring', caseNumber: 2 });
    w.advance(30 * DAY);
    expect(await schedulerRound(w, fraudSaga)).toEqual([]);
    expect(state(w)).toMatchObject({ state: 'cleared', caseNumber: 2 });
  });
});
