import { bankSettings } from '../src/config/bankSchema.js';
import type { ProjectorEvent } from '../src/events/types.js';
import { ProjectordError } from '../src/lib/errors.js';
import { defineReaction, type Deadline, type ReactionContext } from '../src/modules/types.js';
import { financialFacts } from './lib/compliance-activity.js';
import { isLargeTransaction } from './lib/compliance-rules.js';
import { sagaDeadline, stateNotSavedYet } from './lib/saga-deadlines.js';
import { dataId, reviewIdFor } from './lib/saga-ids.js';
import { metaIdOf } from './lib/validate.js';
import {
  amlCheck,
  reportsFor,
  reviewDecision,
  riskAssessment,
  type ReviewState,
  type ReviewStep,
  type ReviewSteps,
} from './lib/saga-review-steps.js';

/**
 * `compliance-review-saga` (DOMAIN.md "Sagas"), one instance per large debit in
 * `compliance_saga_state` (`_id` = reviewId = `review-<transferId>`), ordered by the review id.
 *
 *   FundsDebited ≥ threshold ─▶ append ComplianceReviewRequired; amlCheck, riskAssessment (both
 *   automatic) ─▶ manualReview: status `awaiting_review` ─(ComplianceReviewCompleted)─▶
 *   regulatoryReporting ─▶ `completed`
 *   review deadline (72 h) passed: `overdue`; saga timeout (7 days) passed: `timed_out`;
 *   a late review still completes either. `overdue: true` marks a review past its deadline and
 *   not completed (the overdue-reviews metric); `overdueAt` keeps the fact after completion.
 *
 * The deadlines are scheduled at once, the state is saved after the handler: a deadline that
 * finds no state is early (the save was refused or lost; the debit is handled again) and fires
 * again later, until it is overdue by more than the saga timeout (lib/saga-deadlines.ts).
 */
export const COMPLIANCE_REVIEW_SAGA = 'compliance-review-saga';
export const COMPLIANCE_SAGA_STATE = 'compliance_saga_state';
export const COMPLIANCE_REVIEW_REQUIRED = 'ComplianceReviewRequired';
export const COMPLIANCE_REVIEW_COMPLETED = 'ComplianceReviewCompleted';

export interface ComplianceSagaDoc {
  _id: string;
  reviewId: string;
  accountId: string;
  aggregateType: string;
  transferId: string | null;
  debitEventId: string;
  requiredEventId: string;
  amount: number;
  currency: string | null;
  categories: string[];
  correlationId: string | null;
  state: ReviewState;
  currentStep: ReviewStep | 'done';
  /** Past the review deadline and not completed (what the overdue metric counts). */
  overdue: boolean;
  /** When it went overdue; kept after completion for the record. */
  overdueAt: Date | null;
  steps: ReviewSteps;
  reviewDueAt: Date;
  timeoutAt: Date;
  startedAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

type Payload = { kind: 'review-deadline' } | { kind: 'timeout' };
const reviewDeadlineId = (reviewId: string) => `${reviewId}:review-deadline`;
const timeoutId = (reviewId: string) => `${reviewId}:timeout`;

function save(ctx: ReactionContext, doc: ComplianceSagaDoc): void {
  const { _id, ...fields } = doc;
  ctx.upsert(COMPLIANCE_SAGA_STATE, _id, { set: { ...fields, updatedAt: ctx.now() } });
}

async function onDebit(event: ProjectorEvent, ctx: ReactionContext): Promise<void> {
  const { compliance: rules, sagas } = bankSettings(ctx.settings);
  const facts = financialFacts(event, rules);
  if (!isLargeTransaction(facts.amount, rules)) return;
  const reviewId = reviewIdFor(event);
  if (await ctx.findOne(COMPLIANCE_SAGA_STATE, reviewId)) return;

  const transferId = dataId(event, 'transferId');
  const correlationId = metaIdOf(event, 'correlationId');
  const categories = facts.classification.complianceCategories;
  const required = await ctx.append({
    aggregateId: event.aggregateId,
    aggregateType: event.aggregateType,
    eventType: COMPLIANCE_REVIEW_REQUIRED,
    eventVersion: '1.0',
    eventData: { reviewId, transferId, amount: facts.amount, categories },
    idempotencyKey: `${reviewId}:required`,
  });
  if (!required.ok) {
    throw new ProjectordError(
      'APPEND_FAILED',
      `Could not open review ${reviewId}: ${required.reason}`,
    );
  }
  const now = ctx.now();
  const stream = await ctx.readStream(event.aggregateId);
  const doc: ComplianceSagaDoc = {
    _id: reviewId,
    reviewId,
    accountId: event.aggregateId,
    aggregateType: event.aggregateType,
    transferId,
    debitEventId: event.eventId,
    requiredEventId: required.eventId,
    amount: facts.amount,
    currency: facts.currency,
    categories,
    correlationId,
    state: 'awaiting_review',
    currentStep: 'manualReview',
    overdue: false,
    overdueAt: null,
    steps: {
      amlCheck: amlCheck(stream, event, rules, now),
      riskAssessment: riskAssessment(stream, event, facts.classification.riskLevel, rules, now),
      manualReview: {
        status: 'pending',
        outcome: null,
        reviewedBy: null,
        reviewEventId: null,
        at: null,
      },
      regulatoryReporting: { status: 'pending', reports: [], at: null },
    },
    reviewDueAt: new Date(now.getTime() + sagas.complianceReview.reviewDeadlineMs),
    timeoutAt: new Date(now.getTime() + sagas.complianceReview.timeoutMs),
    startedAt: now,
    updatedAt: now,
    completedAt: null,
  };
  const review: Payload = { kind: 'review-deadline' };
  await ctx.schedule(sagaDeadline(reviewDeadlineId(reviewId), reviewId, doc.reviewDueAt, review));
  const timeout: Payload = { kind: 'timeout' };
  await ctx.schedule(sagaDeadline(timeoutId(reviewId), reviewId, doc.timeoutAt, timeout));
  save(ctx, doc);
}

async function onReviewCompleted(event: ProjectorEvent, ctx: ReactionContext): Promise<void> {
  const decision = reviewDecision(event);
  const doc = await ctx.findOne<ComplianceSagaDoc>(COMPLIANCE_SAGA_STATE, decision.reviewId);
  const log = { reviewId: decision.reviewId, eventId: event.eventId };
  if (!doc || doc.accountId !== event.aggregateId) {
    ctx.logger.warn(log, 'review completion for an unknown review (or another account) ignored');
    return;
  }
  if (doc.state === 'completed') {
    ctx.logger.warn(log, 'review already completed; the first decision stands');
    return;
  }
  const at = ctx.now();
  await ctx.cancelDeadline(reviewDeadlineId(doc.reviewId));
  await ctx.cancelDeadline(timeoutId(doc.reviewId));
  save(ctx, {
    ...doc,
    state: 'completed',
    currentStep: 'done',
    overdue: false,
    steps: {
      ...doc.steps,
      manualReview: { status: 'completed', ...decision, reviewEventId: event.eventId, at },
      regulatoryReporting: { status: 'filed', reports: reportsFor(decision.outcome), at },
    },
    completedAt: at,
  });
}

async function onDeadline(deadline: Deadline, ctx: ReactionContext): Promise<void> {
  const doc = await ctx.findOne<ComplianceSagaDoc>(COMPLIANCE_SAGA_STATE, deadline.key);
  const payload = deadline.payload as Payload;
  if (!doc) {
    const { timeoutMs } = bankSettings(ctx.settings).sagas.complianceReview;
    return stateNotSavedYet(ctx, deadline, timeoutMs, { reviewId: deadline.key });
  }
  if (payload.kind === 'review-deadline' && doc.state === 'awaiting_review') {
    ctx.logger.warn({ reviewId: doc.reviewId }, 'compliance review overdue');
    save(ctx, { ...doc, state: 'overdue', overdue: true, overdueAt: doc.reviewDueAt });
  } else if (
    payload.kind === 'timeout' &&
    (doc.state === 'awaiting_review' || doc.state === 'overdue')
  ) {
    ctx.logger.error({ reviewId: doc.reviewId }, 'compliance review timed out without a decision');
    save(ctx, {
      ...doc,
      state: 'timed_out',
      overdue: true,
      overdueAt: doc.overdueAt ?? doc.reviewDueAt,
    });
  }
}

export default defineReaction({
  name: COMPLIANCE_REVIEW_SAGA,
  version: 1,
  handles: ['FundsDebited', COMPLIANCE_REVIEW_COMPLETED],
  collections: [COMPLIANCE_SAGA_STATE],
  indexes: {
    [COMPLIANCE_SAGA_STATE]: [{ key: { state: 1, reviewDueAt: 1 } }, { key: { accountId: 1 } }],
  },
  verifyIgnore: ['updatedAt'],
  orderingKey: (event) =>
    event.eventType === 'FundsDebited'
      ? reviewIdFor(event)
      : (dataId(event, 'reviewId') ?? event.aggregateId),
  async react(event, ctx) {
    if (event.eventType === 'FundsDebited') await onDebit(event, ctx);
    else await onReviewCompleted(event, ctx);
  },
  onDeadline,
});
