import { bankSettings } from '../src/config/bankSchema.js';
import type { ProjectorEvent } from '../src/events/types.js';
import { ProjectordError } from '../src/lib/errors.js';
import { defineReaction, type ReactionContext } from '../src/modules/types.js';
import {
  activityEntry,
  auditEntry,
  financialFacts,
  windowFromDoc,
} from './lib/compliance-activity.js';
import {
  detectSuspicions,
  recordActivity,
  riskProfile,
  withDetections,
  type RiskProfile,
  type Suspicion,
} from './lib/compliance-window.js';
import { MONEY_EVENTS } from './lib/money.js';

/**
 * `compliance` (DOMAIN.md "Compliance rules"): classifies every financial event of an account,
 * in version order, into
 *  - `compliance_audit_view`: one entry per event (`_id` = eventId, written once);
 *  - `compliance_risk_profiles`: the account's risk score and its inputs, as of its last event;
 *  - `compliance_account_windows`: the module's own compacted window of the account's activity
 *    and the detections already reported (guarded by the account version, like the profile);
 * and appends `SuspiciousActivityDetected` to the account once per rule and detection window:
 * the append's key is account + rule + window start, so a redelivered event (whose window write
 * never landed) recomputes the same key and appends nothing new.
 */
export const COMPLIANCE_MODULE = 'compliance';
export const COMPLIANCE_AUDIT_VIEW = 'compliance_audit_view';
export const COMPLIANCE_RISK_PROFILES = 'compliance_risk_profiles';
export const COMPLIANCE_WINDOWS = 'compliance_account_windows';
export const SUSPICIOUS_ACTIVITY_DETECTED = 'SuspiciousActivityDetected';

export function detectionKey(accountId: string, s: Suspicion): string {
  return `${accountId}:${s.rule}:${s.windowStart.toISOString()}`;
}

async function report(
  event: ProjectorEvent,
  s: Suspicion,
  profile: RiskProfile,
  ctx: ReactionContext,
): Promise<void> {
  const result = await ctx.append({
    aggregateId: event.aggregateId,
    aggregateType: event.aggregateType,
    eventType: SUSPICIOUS_ACTIVITY_DETECTED,
    eventVersion: '1.0',
    eventData: {
      reasons: [s.rule],
      riskScore: profile.riskScore,
      windowStart: s.windowStart,
      windowEnd: s.windowEnd,
    },
    idempotencyKey: detectionKey(event.aggregateId, s),
  });
  if (!result.ok) {
    // Thrown so the engine retries the event; the key keeps the retry from reporting twice.
    throw new ProjectordError(
      'APPEND_FAILED',
      `Could not report ${s.rule} on account ${event.aggregateId}: ${result.reason}`,
    );
  }
}

export default defineReaction({
  name: COMPLIANCE_MODULE,
  version: 1,
  handles: MONEY_EVENTS,
  collections: [COMPLIANCE_AUDIT_VIEW, COMPLIANCE_RISK_PROFILES, COMPLIANCE_WINDOWS],
  indexes: {
    [COMPLIANCE_AUDIT_VIEW]: [
      { key: { aggregateId: 1, timestamp: 1 } },
      { key: { retentionDate: 1 } },
    ],
    [COMPLIANCE_RISK_PROFILES]: [{ key: { riskScore: -1 } }],
  },
  verifyIgnore: ['updatedAt'],
  async react(event, ctx) {
    const rules = bankSettings(ctx.settings).compliance;
    const facts = financialFacts(event, rules);
    ctx.insertOnce(COMPLIANCE_AUDIT_VIEW, auditEntry(event, facts, rules));

    const before = windowFromDoc(await ctx.findOne(COMPLIANCE_WINDOWS, event.aggregateId));
    const window = recordActivity(before, activityEntry(event, facts, rules), rules);
    const profile = riskProfile(window, facts.at, rules);
    const suspicions = detectSuspicions(window, facts.at, rules);
    for (const s of suspicions) await report(event, s, profile, ctx);

    ctx.upsert(COMPLIANCE_WINDOWS, event.aggregateId, {
      set: { ...withDetections(window, suspicions) },
    });
    ctx.upsert(COMPLIANCE_RISK_PROFILES, event.aggregateId, {
      set: { ...profile, updatedAt: ctx.now() },
    });
  },
});
