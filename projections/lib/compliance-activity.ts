import type { Document } from 'mongodb';
import type { ProjectorEvent } from '../../src/events/types.js';
import { isMoneyEvent, movementOf, type MovementKind } from './money.js';
import {
  classify,
  inStructuringBand,
  isLargeTransaction,
  type Classification,
  type ComplianceRules,
} from './compliance-rules.js';
import {
  emptyWindow,
  recordActivity,
  type ActivityEntry,
  type ActivityWindow,
  type SuspicionRule,
} from './compliance-window.js';
import { reviewIdFor } from './saga-ids.js';
import {
  dataOf,
  EventValidationError,
  eventTime,
  metaIdOf,
  metaTextOf,
  optionalIdField,
  optionalTextField,
  regulatoryFlagsOf,
  sourceIpOf,
  textField,
} from './validate.js';

/**
 * From a financial event (FundsDebited, FundsCredited, DebitReversed) to what compliance
 * records: the validated facts, the audit entry (DOMAIN.md `compliance_audit_view`, exactly
 * its fields) and the activity entry folded into the account's window.
 */
export interface FinancialFacts {
  kind: MovementKind;
  amount: number;
  /** Null only for a DebitReversed that names none. */
  currency: string | null;
  at: Date;
  sourceIp: string | null;
  classification: Classification;
}

export function financialFacts(event: ProjectorEvent, rules: ComplianceRules): FinancialFacts {
  if (!isMoneyEvent(event)) {
    throw new EventValidationError('eventType', 'must be a financial event', event.eventType);
  }
  const movement = movementOf(event);
  const data = dataOf(event);
  const currency =
    movement.kind === 'reversal'
      ? optionalTextField(data, 'currency')
      : textField(data, 'currency');
  const at = eventTime(event);
  return {
    kind: movement.kind,
    amount: movement.amount,
    currency,
    at,
    sourceIp: sourceIpOf(event),
    classification: classify({ amount: movement.amount, currency, at }, rules),
  };
}

function performedBy(event: ProjectorEvent): string | null {
  const data = dataOf(event);
  for (const key of ['debitedBy', 'creditedBy', 'reversedBy']) {
    const v = optionalIdField(data, key);
    if (v !== null) return v;
  }
  return metaTextOf(event, 'producedBy');
}

/** The compliance cases an entry belongs to: the review a large debit opens, and any given. */
function complianceReferences(
  event: ProjectorEvent,
  facts: FinancialFacts,
  rules: ComplianceRules,
) {
  const refs: string[] = [];
  if (facts.kind === 'debit' && isLargeTransaction(facts.amount, rules)) {
    refs.push(reviewIdFor(event));
  }
  const given = optionalIdField(dataOf(event), 'complianceReference');
  if (given !== null && !refs.includes(given)) refs.push(given);
  return refs;
}

/**
 * The audit entry's `regulatoryFlags`: the rules' flags, then the command side's own
 * (`eventMetadata.regulatoryFlags`, e.g. `pep_customer`) not already among them.
 */
export function entryFlags(event: ProjectorEvent, facts: FinancialFacts): string[] {
  const flags = [...facts.classification.regulatoryFlags];
  for (const f of regulatoryFlagsOf(event)) if (!flags.includes(f)) flags.push(f);
  return flags;
}

/**
 * The one meaning of a "flagged event" (DOMAIN.md: risk score "+15 per flagged event"): its
 * audit entry carries a regulatory flag, whether the rules or the command side raised it.
 */
export function isFlagged(event: ProjectorEvent, facts: FinancialFacts): boolean {
  return entryFlags(event, facts).length > 0;
}

export function auditEntry(
  event: ProjectorEvent,
  facts: FinancialFacts,
  rules: ComplianceRules,
): Document & { _id: string } {
  const c = facts.classification;
  return {
    _id: event.eventId,
    eventId: event.eventId,
    aggregateId: event.aggregateId,
    eventType: event.eventType,
    timestamp: facts.at,
    amount: facts.amount,
    currency: facts.currency,
    regulatoryFlags: entryFlags(event, facts),
    complianceReferences: complianceReferences(event, facts, rules),
    performedBy: performedBy(event),
    sourceIp: facts.sourceIp,
    userAgent: metaTextOf(event, 'userAgent'),
    correlationId: metaIdOf(event, 'correlationId'),
    causationId: metaIdOf(event, 'causationId'),
    riskLevel: c.riskLevel,
    complianceCategories: c.complianceCategories,
    retentionDate: c.retentionDate,
    rulesVersion: c.rulesVersion,
  };
}

/**
 * What the window keeps of an event. `flagged` is `isFlagged`, the audit entry's own test, so
 * the risk profile's flaggedCount counts exactly the entries an auditor sees flags on.
 */
export function activityEntry(
  event: ProjectorEvent,
  facts: FinancialFacts,
  rules: ComplianceRules,
): ActivityEntry {
  const debit = facts.kind === 'debit';
  return {
    at: facts.at,
    debit,
    riskLevel: facts.classification.riskLevel,
    flagged: isFlagged(event, facts),
    band: debit && inStructuringBand(facts.amount, rules),
    sourceIp: facts.sourceIp,
  };
}

/** An account's window from its events (for sagas that assess an account from its stream). */
export function windowOfEvents(
  events: readonly ProjectorEvent[],
  rules: ComplianceRules,
): ActivityWindow {
  let window = emptyWindow();
  for (const e of events) {
    if (!isMoneyEvent(e)) continue;
    window = recordActivity(window, activityEntry(e, financialFacts(e, rules), rules), rules);
  }
  return window;
}

const isDate = (v: unknown): v is Date => v instanceof Date && !Number.isNaN(v.getTime());
const RULES: readonly SuspicionRule[] = ['high_velocity', 'structuring'];

function list<T>(v: unknown, parse: (item: Record<string, unknown>) => T | undefined): T[] {
  if (!Array.isArray(v)) return [];
  const out: T[] = [];
  for (const item of v as unknown[]) {
    if (typeof item !== 'object' || item === null) continue;
    const parsed = parse(item as Record<string, unknown>);
    if (parsed !== undefined) out.push(parsed);
  }
  return out;
}

/** The window stored by the compliance module; anything malformed in it is left out. */
export function windowFromDoc(doc: Document | null): ActivityWindow {
  if (!doc) return emptyWindow();
  return {
    recent: list(doc.recent, (e) =>
      isDate(e.at) ? { at: e.at, debit: e.debit === true, band: e.band === true } : undefined,
    ),
    marked: list(doc.marked, (e) =>
      isDate(e.at) ? { at: e.at, high: e.high === true, flagged: e.flagged === true } : undefined,
    ),
    ips: list(doc.ips, (e) =>
      typeof e.ip === 'string' && isDate(e.lastAt) ? { ip: e.ip, lastAt: e.lastAt } : undefined,
    ),
    detections: list(doc.detections, (e) =>
      RULES.includes(e.rule as SuspicionRule) && isDate(e.windowStart) && isDate(e.windowEnd)
        ? { rule: e.rule as SuspicionRule, windowStart: e.windowStart, windowEnd: e.windowEnd }
        : undefined,
    ),
  };
}
