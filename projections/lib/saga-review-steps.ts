import type { ProjectorEvent } from '../../src/events/types.js';
import type { ComplianceRules, RiskLevel } from './compliance-rules.js';
import { windowOfEvents } from './compliance-activity.js';
import { riskProfile } from './compliance-window.js';
import { dataOf, EventValidationError, optionalTextField, textField } from './validate.js';

/**
 * The automatic steps of a compliance review and the shape of its state. Both automatic steps
 * look at the account's stream in event_store strictly before the debit under review, so a
 * review gives the same answer however late it runs.
 */
export type ReviewState = 'awaiting_review' | 'overdue' | 'completed' | 'timed_out';
export type ReviewStep = 'amlCheck' | 'riskAssessment' | 'manualReview' | 'regulatoryReporting';
export type ReviewOutcome = 'cleared' | 'escalated';
export const REVIEW_OUTCOMES: readonly ReviewOutcome[] = ['cleared', 'escalated'];

export interface ReviewSteps {
  amlCheck: { status: 'passed' | 'flagged'; suspiciousDetections: number; at: Date };
  riskAssessment: { riskScore: number; transactionRiskLevel: RiskLevel; at: Date };
  manualReview: {
    status: 'pending' | 'completed';
    outcome: ReviewOutcome | null;
    reviewedBy: string | null;
    reviewEventId: string | null;
    at: Date | null;
  };
  regulatoryReporting: { status: 'pending' | 'filed'; reports: string[]; at: Date | null };
}

const DAY_MS = 86_400_000;

function before(stream: readonly ProjectorEvent[], debit: ProjectorEvent): ProjectorEvent[] {
  return stream.filter((e) => e.version < debit.version);
}

/** AML: suspicious activity already reported on the account within the risk window. */
export function amlCheck(
  stream: readonly ProjectorEvent[],
  debit: ProjectorEvent,
  rules: ComplianceRules,
  at: Date,
): ReviewSteps['amlCheck'] {
  const from = debit.eventTimestamp.getTime() - rules.riskWindowDays * DAY_MS;
  const found = before(stream, debit).filter(
    (e) => e.eventType === 'SuspiciousActivityDetected' && e.eventTimestamp.getTime() > from,
  ).length;
  return { status: found > 0 ? 'flagged' : 'passed', suspiciousDetections: found, at };
}

/** Risk: the account's risk score (compliance rules) including the debit under review. */
export function riskAssessment(
  stream: readonly ProjectorEvent[],
  debit: ProjectorEvent,
  transactionRiskLevel: RiskLevel,
  rules: ComplianceRules,
  at: Date,
): ReviewSteps['riskAssessment'] {
  const window = windowOfEvents([...before(stream, debit), debit], rules);
  const { riskScore } = riskProfile(window, debit.eventTimestamp, rules);
  return { riskScore, transactionRiskLevel, at };
}

/** Reports filed after the manual review: a large transaction is always reported. */
export function reportsFor(outcome: ReviewOutcome): string[] {
  return outcome === 'escalated'
    ? ['currency_transaction_report', 'suspicious_activity_report']
    : ['currency_transaction_report'];
}

export interface ReviewDecision {
  reviewId: string;
  outcome: ReviewOutcome;
  reviewedBy: string | null;
}

export function reviewDecision(event: ProjectorEvent): ReviewDecision {
  const data = dataOf(event);
  const outcome = textField(data, 'outcome');
  if (!REVIEW_OUTCOMES.includes(outcome as ReviewOutcome)) {
    throw new EventValidationError(
      'eventData.outcome',
      'must be "cleared" or "escalated"',
      outcome,
    );
  }
  return {
    reviewId: textField(data, 'reviewId'),
    outcome: outcome as ReviewOutcome,
    reviewedBy: optionalTextField(data, 'reviewedBy'),
  };
}
