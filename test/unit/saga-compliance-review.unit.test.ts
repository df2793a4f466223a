import { describe, expect, it } from 'vitest';
import reviewSaga, { COMPLIANCE_SAGA_STATE } from '../../projections/compliance-review-saga.js';
import { isEventValidationError } from '../../projections/lib/validate.js';
import type { EventData, ProjectorEvent } from '../../src/events/types.js';
import { reactionEventId } from '../../src/reactions/append.js';
import { createMemoryWorld, type MemoryWorld } from '../helpers/memoryReactionContext.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SAGA = 'compliance-review-saga';

function debit(w: MemoryWorld, amount: number, transferId = 'T1', account = 'acc-1') {
  return w.write(
    account,
    'FundsDebited',
    { transferId, amount, currency: 'USD', toAccountId: 'dst' },
    { eventMetadata: { correlationId: `corr-${transferId}` } },
  );
}

function review(w: MemoryWorld, data: EventData, account = 'acc-1') {
  return w.write(account, 'ComplianceReviewCompleted', data);
}

const state = (w: MemoryWorld, id = 'review-T1') => w.get(COMPLIANCE_SAGA_STATE, id);
const pending = (w: MemoryWorld) =>
  w
    .deadlines(SAGA)
    .filter((d) => d.status === 'pending')
    .map((d) => d.deadline.id)
    .sort();
const run = (w: MemoryWorld) => w.pump([reviewSaga]);

async function opened(): Promise<MemoryWorld> {
  const w = createMemoryWorld();
  debit(w, 10_000);
  await run(w);
  return w;
}

describe('compliance review saga: opening a review', () => {
  it('opens a review at a debit of 10,000 and appends ComplianceReviewRequired', async () => {
    const w = await opened();
    const required = w.ofType('ComplianceReviewRequired');
    expect(required).toHaveLength(1);
    expect(required[0]).toMatchObject({
      eventId: reactionEventId(SAGA, 'review-T1:required'),
      aggregateId: 'acc-1',
      eventData: {
        reviewId: 'review-T1',
        transferId: 'T1',
        amount: 10_000,
        categories: ['financial_transaction', 'aml_monitoring'],
      },
      eventMetadata: { correlationId: 'corr-T1', causationId: w.events[0]?.eventId },
    });
    const start = w.now().getTime();
    expect(state(w)).toMatchObject({
      reviewId: 'review-T1',
      accountId: 'acc-1',
      requiredEventId: required[0]?.eventId,
      state: 'awaiting_review',
      currentStep: 'manualReview',
      overdue: false,
      overdueAt: null,
      steps: {
        amlCheck: { status: 'passed', suspiciousDetections: 0 },
        riskAssessment: { riskScore: 20 + 15, transactionRiskLevel: 'high' },
        manualReview: { status: 'pending', outcome: null },
        regulatoryReporting: { status: 'pending', reports: [] },
      },
      reviewDueAt: new Date(start + 72 * HOUR),
      timeoutAt: new Date(start + 7 * DAY),
    });
    expect(pending(w)).toEqual(['review-T1:review-deadline', 'review-T1:timeout']);
  });

  it('ignores a debit just under the threshold', async () => {
    const w = createMemoryWorld();
    debit(w, 9_999.99);
    await run(w);
    expect(w.all(COMPLIANCE_SAGA_STATE)).toEqual([]);
    expect(w.ofType('ComplianceReviewRequired')).toEqual([]);
  });

  it('follows a configured threshold', async () => {
    const w = createMemoryWorld({
      settings: {
        bank: { compliance: { largeTransactionThreshold: 500, mediumRiskThreshold: 100 } },
      },
    });
    debit(w, 500);
    await run(w);
    expect(state(w)?.state).toBe('awaiting_review');
  });

  it('flags the AML check when suspicious activity was reported within 30 days', async () => {
    const w = createMemoryWorld();
    w.write('acc-1', 'SuspiciousActivityDetected', { reasons: ['structuring'], riskScore: 50 });
    w.advance(29 * DAY);
    debit(w, 20_000);
    await run(w);
    expect(state(w)?.steps).toMatchObject({
      amlCheck: { status: 'flagged', suspiciousDetections: 1 },
    });
  });

  it('passes the AML check when the last report is older than 30 days', async () => {
    const w = createMemoryWorld();
    w.write('acc-1', 'SuspiciousActivityDetected', { reasons: ['structuring'], riskScore: 50 });
    w.advance(31 * DAY);
    debit(w, 20_000);
    await run(w);
    expect(state(w)?.steps).toMatchObject({ amlCheck: { status: 'passed' } });
  });

  it('opens one review when the debit is redelivered after a crash', async () => {
    const w = createMemoryWorld();
    const d = debit(w, 15_000);
    await w.deliver(reviewSaga, d, { crashBeforeCommit: true });
    expect(state(w)).toBeUndefined();
    await w.deliver(reviewSaga, d);
    await w.deliver(reviewSaga, d);
    expect(w.ofType('ComplianceReviewRequired')).toHaveLength(1);
    expect(state(w)?.state).toBe('awaiting_review');
  });
});

describe('compliance review saga: the manual review', () => {
  it.each([
    ['cleared', ['currency_transaction_report']],
    ['escalated', ['currency_transaction_report', 'suspicious_activity_report']],
  ])('completes on a %s review and files the reports', async (outcome, reports) => {
    const w = await opened();
    const r = review(w, { reviewId: 'review-T1', outcome, reviewedBy: 'carol' });
    await run(w);
    expect(state(w)).toMatchObject({
      state: 'completed',
      currentStep: 'done',
      steps: {
        manualReview: {
          status: 'completed',
          outcome,
          reviewedBy: 'carol',
          reviewEventId: r.eventId,
        },
        regulatoryReporting: { status: 'filed', reports },
      },
    });
    expect(pending(w)).toEqual([]);
  });

  it('marks the review overdue after 72 hours, and a late review still completes it', async () => {
    const w = await opened();
    w.advance(72 * HOUR - 1);
    expect(await w.fireDue(reviewSaga)).toBe(0);
    w.advance(1);
    await w.fireDue(reviewSaga);
    const overdueAt = w.now();
    expect(state(w)).toMatchObject({ state: 'overdue', overdue: true, overdueAt });
    w.advance(HOUR);
    review(w, { reviewId: 'review-T1', outcome: 'cleared', reviewedBy: 'carol' });
    await run(w);
    // No longer counted as overdue, but the record keeps that it was.
    expect(state(w)).toMatchObject({ state: 'completed', overdue: false, overdueAt });
    expect(pending(w)).toEqual([]);
  });

  it('times out after 7 days without a review', async () => {
    const w = await opened();
    w.advance(7 * DAY);
    expect(await w.fireDue(reviewSaga)).toBe(2);
    expect(state(w)).toMatchObject({
      state: 'timed_out',
      overdue: true,
      overdueAt: new Date(w.now().getTime() - 4 * DAY),
    });
  });

  it('keeps the first decision when a second review arrives', async () => {
    const w = await opened();
    review(w, { reviewId: 'review-T1', outcome: 'cleared', reviewedBy: 'carol' });
    review(w, { reviewId: 'review-T1', outcome: 'escalated', reviewedBy: 'dave' });
    await run(w);
    expect(state(w)?.steps).toMatchObject({
      manualReview: { outcome: 'cleared', reviewedBy: 'carol' },
    });
  });

  it('ignores a review of an unknown case or of another account', async () => {
    const w = await opened();
    review(w, { reviewId: 'review-nope', outcome: 'cleared' });
    review(w, { reviewId: 'review-T1', outcome: 'cleared' }, 'acc-other');
    await run(w);
    expect(state(w)?.state).toBe('awaiting_review');
    expect(w.all(COMPLIANCE_SAGA_STATE)).toHaveLength(1);
  });

  const bad: [string, EventData, string][] = [
    ['an unknown outcome', { reviewId: 'review-T1', outcome: 'approved' }, 'eventData.outcome'],
    ['no outcome', { reviewId: 'review-T1' }, 'eventData.outcome'],
    ['no reviewId', { outcome: 'cleared' }, 'eventData.reviewId'],
    [
      'a numeric reviewer',
      { reviewId: 'review-T1', outcome: 'cleared', reviewedBy: 3 },
      'eventData.reviewedBy',
    ],
  ];
  it.each(bad)('rejects a completion with %s, naming the field', async (_what, data, field) => {
    const w = await opened();
    const e = review(w, data);
    const err: unknown = await w.deliver(reviewSaga, e).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isEventValidationError(err) && err.field).toBe(field);
    expect(state(w)?.state).toBe('awaiting_review');
  });

  it('orders by the review id', () => {
    const w = createMemoryWorld();
    type Handled = Parameters<NonNullable<typeof reviewSaga.orderingKey>>[0];
    const key = (e: ProjectorEvent) => reviewSaga.orderingKey?.(e as Handled);
    expect(key(debit(w, 10_000, 'T9'))).toBe('review-T9');
    expect(key(review(w, { reviewId: 'review-T9', outcome: 'cleared' }))).toBe('review-T9');
    expect(key(review(w, { outcome: 'cleared' }))).toBe('acc-1');
  });
});
