import { bankSettings } from '../src/config/bankSchema.js';
import type { ProjectorEvent } from '../src/events/types.js';
import { ProjectordError } from '../src/lib/errors.js';
import { defineReaction, type Deadline, type ReactionContext } from '../src/modules/types.js';
import { sagaDeadline, stateNotSavedYet } from './lib/saga-deadlines.js';
import { fraudReferenceFor } from './lib/saga-ids.js';
import { dataOf, EventValidationError } from './lib/validate.js';

/**
 * `fraud-saga` (DOMAIN.md "Sagas"), one instance per account in `fraud_detection_saga_state`,
 * ordered by the account.
 *
 *   SuspiciousActivityDetected, risk score ≥ freezeRiskScore ─▶ append AccountFrozen ─▶ `frozen`
 *   SuspiciousActivityDetected below it ─▶ `monitoring` (each new detection may still freeze)
 *   monitoringPeriodMs without a new detection ─▶ `cleared`; a later detection opens a new case
 *
 * The freeze is keyed by the detection that caused it, and its complianceReference names that
 * detection, so a repeated step never freezes twice and an auditor can trace why.
 *
 * The monitoring deadline is scheduled at once, the state is saved after the handler: a deadline
 * that finds no state for its case is early (the save was refused or lost; the detection is
 * handled again) and fires again later, until it is overdue by more than the monitoring period
 * (lib/saga-deadlines.ts).
 */
export const FRAUD_SAGA = 'fraud-saga';
export const FRAUD_SAGA_STATE = 'fraud_detection_saga_state';
export const FROZEN_BY = 'projectord:fraud-saga';

export type FraudState = 'monitoring' | 'frozen' | 'cleared';

export interface FraudSagaDoc {
  _id: string;
  accountId: string;
  state: FraudState;
  /** Cases of this account so far: a detection after `cleared` opens the next. */
  caseNumber: number;
  detections: number;
  riskScore: number;
  maxRiskScore: number;
  reasons: string[];
  lastDetectionEventId: string;
  complianceReference: string | null;
  freezeEventId: string | null;
  frozenAt: Date | null;
  monitoringUntil: Date | null;
  clearedAt: Date | null;
  startedAt: Date;
  updatedAt: Date;
}

interface Detection {
  reasons: string[];
  riskScore: number;
}

function detectionOf(event: ProjectorEvent): Detection {
  const data = dataOf(event);
  const { reasons, riskScore } = data;
  if (!Array.isArray(reasons) || !reasons.every((r): r is string => typeof r === 'string')) {
    throw new EventValidationError('eventData.reasons', 'must be an array of strings', reasons);
  }
  if (typeof riskScore !== 'number' || !Number.isFinite(riskScore) || riskScore < 0) {
    throw new EventValidationError(
      'eventData.riskScore',
      'must be a number of 0 or more',
      riskScore,
    );
  }
  return { reasons, riskScore };
}

const monitoringId = (doc: FraudSagaDoc) => `${doc.accountId}:case-${doc.caseNumber}:monitoring`;

function openCase(accountId: string, caseNumber: number, now: Date): FraudSagaDoc {
  return {
    _id: accountId,
    accountId,
    state: 'monitoring',
    caseNumber,
    detections: 0,
    riskScore: 0,
    maxRiskScore: 0,
    reasons: [],
    lastDetectionEventId: '',
    complianceReference: null,
    freezeEventId: null,
    frozenAt: null,
    monitoringUntil: null,
    clearedAt: null,
    startedAt: now,
    updatedAt: now,
  };
}

function save(ctx: ReactionContext, doc: FraudSagaDoc): void {
  const { _id, ...fields } = doc;
  ctx.upsert(FRAUD_SAGA_STATE, _id, { set: { ...fields, updatedAt: ctx.now() } });
}

async function freeze(
  event: ProjectorEvent,
  d: Detection,
  ctx: ReactionContext,
  doc: FraudSagaDoc,
) {
  const complianceReference = fraudReferenceFor(event.eventId);
  const now = ctx.now();
  const result = await ctx.append({
    aggregateId: event.aggregateId,
    aggregateType: event.aggregateType,
    eventType: 'AccountFrozen',
    eventVersion: '1.0',
    eventData: {
      reason: `suspicious activity (${d.reasons.join(', ')}), risk score ${d.riskScore}`,
      frozenBy: FROZEN_BY,
      frozenAt: now,
      expectedDuration: 'until compliance review',
      complianceReference,
    },
    idempotencyKey: `${event.aggregateId}:freeze:${event.eventId}`,
  });
  if (!result.ok) {
    throw new ProjectordError(
      'APPEND_FAILED',
      `Could not freeze ${event.aggregateId}: ${result.reason}`,
    );
  }
  await ctx.cancelDeadline(monitoringId(doc));
  ctx.logger.warn(
    { accountId: event.aggregateId, complianceReference },
    'account frozen for fraud',
  );
  save(ctx, {
    ...doc,
    state: 'frozen',
    complianceReference,
    freezeEventId: result.eventId,
    frozenAt: now,
    monitoringUntil: null,
  });
}

async function onDetection(event: ProjectorEvent, ctx: ReactionContext): Promise<void> {
  const d = detectionOf(event);
  const s = bankSettings(ctx.settings).sagas.fraud;
  const found = await ctx.findOne<FraudSagaDoc>(FRAUD_SAGA_STATE, event.aggregateId);
  const now = ctx.now();
  const doc =
    found && found.state !== 'cleared'
      ? found
      : openCase(event.aggregateId, (found?.caseNumber ?? 0) + 1, now);
  const seen: FraudSagaDoc = {
    ...doc,
    detections: doc.detections + 1,
    riskScore: d.riskScore,
    maxRiskScore: Math.max(doc.maxRiskScore, d.riskScore),
    reasons: d.reasons,
    lastDetectionEventId: event.eventId,
  };
  if (seen.state === 'frozen') return save(ctx, seen); // already frozen: only recorded
  if (d.riskScore >= s.freezeRiskScore) return freeze(event, d, ctx, seen);
  const monitoringUntil = new Date(now.getTime() + s.monitoringPeriodMs);
  const monitored: FraudSagaDoc = { ...seen, state: 'monitoring', monitoringUntil };
  const payload = { caseNumber: monitored.caseNumber };
  await ctx.schedule(
    sagaDeadline(monitoringId(monitored), event.aggregateId, monitoringUntil, payload),
  );
  save(ctx, monitored);
}

async function onDeadline(deadline: Deadline, ctx: ReactionContext): Promise<void> {
  const doc = await ctx.findOne<FraudSagaDoc>(FRAUD_SAGA_STATE, deadline.key);
  const caseNumber = deadline.payload.caseNumber as number;
  // No state, or only an earlier case's: the state of this case was not saved yet.
  if (!doc || doc.caseNumber < caseNumber) {
    const { monitoringPeriodMs } = bankSettings(ctx.settings).sagas.fraud;
    return stateNotSavedYet(ctx, deadline, monitoringPeriodMs, { accountId: deadline.key });
  }
  if (doc.state !== 'monitoring' || doc.caseNumber !== caseNumber) return;
  save(ctx, { ...doc, state: 'cleared', clearedAt: ctx.now(), monitoringUntil: null });
}

export default defineReaction({
  name: FRAUD_SAGA,
  version: 1,
  handles: ['SuspiciousActivityDetected'],
  collections: [FRAUD_SAGA_STATE],
  indexes: { [FRAUD_SAGA_STATE]: [{ key: { state: 1 } }] },
  verifyIgnore: ['updatedAt'],
  orderingKey: (event) => event.aggregateId,
  react: onDetection,
  onDeadline,
});
