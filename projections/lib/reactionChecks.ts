import type { Db, Document } from 'mongodb';
import { idString } from '../../src/dispatch/validate.js';
import { eventStore } from '../../src/events/eventStore.js';
import { COMPLIANCE_REVIEW_SAGA, COMPLIANCE_SAGA_STATE } from '../compliance-review-saga.js';
import { COMPLIANCE_AUDIT_VIEW, COMPLIANCE_MODULE } from '../compliance.js';
import { FRAUD_SAGA, FRAUD_SAGA_STATE } from '../fraud-saga.js';
import { TRANSFER_SAGA } from '../transfer-saga.js';
import { MONEY_EVENTS } from './money.js';
import { TRANSFER_SAGA_STATE } from './saga-transfer-state.js';

/**
 * What can be checked of the bank reactions without re-running them (DESIGN.md invariant 9),
 * read back from event_store and the reactions' own collections once the store is quiet:
 *  - no effect twice: one event per eventId and per aggregate version; per transfer at most one
 *    credit and one reversal, never both; one detection per account, rule and window; one review
 *    request per review; one fraud freeze per detection;
 *  - transfer-saga: one saga per stored debit, every one ended (Completed or Compensated), and
 *    every debit credited or reversed;
 *  - compliance: one audit entry per money event in event_store, none for an event it lacks.
 * Sagas that legitimately wait (a review waits for a person) are counted, not judged.
 */
export interface StoredEvent {
  /** Ids in canonical form (src/events/ids.ts): an ObjectId as its hex. */
  eventId: string;
  aggregateId: string;
  eventType: string;
  version: number;
  /** Set by whoever appended it (the command side or the daemon), from its clock. */
  storedAt: Date;
  eventData: Document;
  eventMetadata: Document;
}

export interface ReactionCheck {
  module: string;
  ok: boolean;
  /** One line for a person: what was counted. */
  summary: string;
  /** What is wrong (empty when ok), each naming the transfer, event or document. */
  findings: string[];
}

const text = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
const isoOf = (v: unknown): string => (v instanceof Date ? v.toISOString() : text(v));

/** An event or document id as text: validate.ts's reading of an id, or its JSON. */
export const idText = (v: unknown): string => idString(v) ?? JSON.stringify(v);

export async function storedEvents(db: Db): Promise<StoredEvent[]> {
  const docs = await eventStore(db).find({}).toArray();
  return docs.map((d) => ({
    eventId: idText(d.eventId),
    aggregateId: idText(d.aggregateId),
    eventType: text(d.eventType),
    version: Number(d.version),
    storedAt: d.storedAt instanceof Date ? d.storedAt : new Date(0),
    eventData: (d.eventData ?? {}) as Document,
    eventMetadata: (d.eventMetadata ?? {}) as Document,
  }));
}

export const ofType = (events: readonly StoredEvent[], type: string) =>
  events.filter((e) => e.eventType === type);

const transferOf = (e: StoredEvent) => idText(e.eventData.transferId);

function repeated(keys: readonly string[], what: string): string[] {
  const counts = new Map<string, number>();
  for (const k of keys) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts].filter(([, n]) => n > 1).map(([k, n]) => `${what} ${k} appears ${n} times`);
}

/** Every effect a reaction may have at most once, as findings (empty: nothing repeated). */
export function repeatedEffects(events: readonly StoredEvent[]): string[] {
  return [
    ...repeated(
      events.map((e) => e.eventId),
      'eventId',
    ),
    ...repeated(
      events.map((e) => `${e.aggregateId}@${e.version}`),
      'aggregate version',
    ),
    ...repeatedTransferEffects(events),
    ...repeatedDetections(events),
    ...repeatedReviewRequests(events),
    ...repeatedFraudFreezes(events),
  ];
}

function repeatedTransferEffects(events: readonly StoredEvent[]): string[] {
  const credits = ofType(events, 'FundsCredited');
  const reversals = ofType(events, 'DebitReversed');
  const reversed = new Set(reversals.map(transferOf));
  return [
    ...repeated(credits.map(transferOf), 'FundsCredited of transfer'),
    ...repeated(reversals.map(transferOf), 'DebitReversed of transfer'),
    ...credits
      .filter((e) => reversed.has(transferOf(e)))
      .map((e) => `transfer ${transferOf(e)} was both credited and reversed`),
  ];
}

const repeatedDetections = (events: readonly StoredEvent[]): string[] =>
  repeated(
    ofType(events, 'SuspiciousActivityDetected').map(
      (e) => `${e.aggregateId}:${text(e.eventData.reasons)}:${isoOf(e.eventData.windowStart)}`,
    ),
    'SuspiciousActivityDetected',
  );

const repeatedReviewRequests = (events: readonly StoredEvent[]): string[] =>
  repeated(
    ofType(events, 'ComplianceReviewRequired').map((e) => text(e.eventData.reviewId)),
    'ComplianceReviewRequired of review',
  );

const repeatedFraudFreezes = (events: readonly StoredEvent[]): string[] =>
  repeated(
    ofType(events, 'AccountFrozen')
      .filter((e) => e.eventData.frozenBy === 'projectord:fraud-saga')
      .map((e) => idText(e.eventData.complianceReference)),
    'fraud AccountFrozen for',
  );

/** Debits whose transfer has neither a credit nor a reversal in event_store. */
export function unfinishedTransfers(events: readonly StoredEvent[]): string[] {
  const settled = new Set(
    [...ofType(events, 'FundsCredited'), ...ofType(events, 'DebitReversed')].map(transferOf),
  );
  return ofType(events, 'FundsDebited')
    .map(transferOf)
    .filter((t) => !settled.has(t));
}

/** Saga state documents counted by state. */
async function sagaStates(
  db: Db,
  collection: string,
): Promise<{ ids: ReadonlySet<string>; byState: Map<string, string[]> }> {
  const docs = await db
    .collection<{ _id: unknown; state?: unknown }>(collection)
    .find({}, { projection: { state: 1 } })
    .toArray();
  const byState = new Map<string, string[]>();
  for (const d of docs) {
    const state = text(d.state);
    const ids = byState.get(state) ?? [];
    if (ids.length === 0) byState.set(state, ids);
    ids.push(idText(d._id));
  }
  return { ids: new Set(docs.map((d) => idText(d._id))), byState };
}

const statesLine = (byState: ReadonlyMap<string, readonly string[]>) =>
  [...byState]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([state, ids]) => `${state} ${ids.length}`)
    .join(', ') || 'none';

const listed = (ids: readonly string[], limit = 5) =>
  ids.length > limit
    ? `${ids.slice(0, limit).join(', ')} and ${ids.length - limit} more`
    : ids.join(', ');

async function checkTransferSaga(db: Db, events: readonly StoredEvent[]): Promise<ReactionCheck> {
  const { ids, byState } = await sagaStates(db, TRANSFER_SAGA_STATE);
  const debits = new Set(ofType(events, 'FundsDebited').map(transferOf));
  const open = [...byState]
    .filter(([state]) => state !== 'Completed' && state !== 'Compensated')
    .flatMap(([state, list]) => list.map((id) => `${id} (${state})`));
  const withoutSaga = [...debits].filter((t) => !ids.has(t));
  const findings = [
    ...repeatedTransferEffects(events),
    ...(open.length ? [`transfers not ended: ${listed(open)}`] : []),
    ...(withoutSaga.length ? [`debits with no saga: ${listed(withoutSaga)}`] : []),
    ...unfinishedTransfers(events).map(
      (t) => `transfer ${t} debited, neither credited nor reversed`,
    ),
  ];
  return {
    module: TRANSFER_SAGA,
    ok: findings.length === 0,
    summary: `${ids.size} transfers (${statesLine(byState)}); each credited or reversed once`,
    findings,
  };
}

async function checkCompliance(db: Db, events: readonly StoredEvent[]): Promise<ReactionCheck> {
  const money = new Set(
    events
      .filter((e) => (MONEY_EVENTS as readonly string[]).includes(e.eventType))
      .map((e) => e.eventId),
  );
  const entries = await db
    .collection<{ _id: unknown }>(COMPLIANCE_AUDIT_VIEW)
    .find({}, { projection: { _id: 1 } })
    .toArray();
  const audited = new Set(entries.map((d) => idText(d._id)));
  const missing = [...money].filter((id) => !audited.has(id));
  const extra = [...audited].filter((id) => !money.has(id));
  const detections = ofType(events, 'SuspiciousActivityDetected').length;
  const findings = [
    ...(missing.length ? [`money events with no audit entry: ${listed(missing)}`] : []),
    ...(extra.length ? [`audit entries of no stored event: ${listed(extra)}`] : []),
    ...repeatedDetections(events),
  ];
  return {
    module: COMPLIANCE_MODULE,
    ok: findings.length === 0,
    summary:
      `${audited.size} audit entries for ${money.size} money events; ` +
      `${detections} suspicious-activity detections, one per window`,
    findings,
  };
}

async function checkSaga(
  db: Db,
  module: string,
  collection: string,
  findings: string[],
): Promise<ReactionCheck> {
  const { ids, byState } = await sagaStates(db, collection);
  return {
    module,
    ok: findings.length === 0,
    summary: `${ids.size} sagas (${statesLine(byState)}); nothing appended twice`,
    findings,
  };
}

/** The checks of the named bank reactions that are loaded (others are left out). */
export async function checkBankReactions(
  db: Db,
  loaded: readonly string[],
): Promise<ReactionCheck[]> {
  const events = await storedEvents(db);
  const checks: Record<string, () => Promise<ReactionCheck>> = {
    [COMPLIANCE_MODULE]: () => checkCompliance(db, events),
    [TRANSFER_SAGA]: () => checkTransferSaga(db, events),
    [COMPLIANCE_REVIEW_SAGA]: () =>
      checkSaga(db, COMPLIANCE_REVIEW_SAGA, COMPLIANCE_SAGA_STATE, repeatedReviewRequests(events)),
    [FRAUD_SAGA]: () => checkSaga(db, FRAUD_SAGA, FRAUD_SAGA_STATE, repeatedFraudFreezes(events)),
  };
  const results: ReactionCheck[] = [];
  for (const [module, check] of Object.entries(checks)) {
    if (loaded.includes(module)) results.push(await check());
  }
  return results;
}
