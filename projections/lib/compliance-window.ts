import type { ComplianceRules, RiskLevel } from './compliance-rules.js';

/**
 * An account's recent activity, compacted to what the risk score and the suspicious-activity
 * rules need (DOMAIN.md "Compliance rules"), and the detections already reported. The compliance
 * module keeps one per account and folds each financial event in, in version order; every
 * window is measured back from the event's own time, so a replay gives the same answers.
 *  - `recent`: every event of the last 24 hours (counts, velocity, structuring);
 *  - `marked`: high-risk or flagged events of the risk window (30 days);
 *  - `ips`: distinct source IPs with their last sighting within the risk window;
 *  - `detections`: the last window reported per rule: a rule fires once per window.
 * A window "of the last N" holds times strictly after `at − N`.
 */
export interface ActivityEntry {
  at: Date;
  debit: boolean;
  riskLevel: RiskLevel;
  flagged: boolean;
  /** Debit amount in the structuring band. */
  band: boolean;
  sourceIp: string | null;
}

export type SuspicionRule = 'high_velocity' | 'structuring';

export interface Detection {
  rule: SuspicionRule;
  windowStart: Date;
  windowEnd: Date;
}

export interface ActivityWindow {
  recent: { at: Date; debit: boolean; band: boolean }[];
  marked: { at: Date; high: boolean; flagged: boolean }[];
  ips: { ip: string; lastAt: Date }[];
  detections: Detection[];
}

export interface RiskProfile {
  riskScore: number;
  eventsLastHour: number;
  eventsLast24h: number;
  distinctSourceIps: number;
  highRiskCount: number;
  flaggedCount: number;
}

export interface Suspicion extends Detection {
  /** Debits that made the rule fire. */
  count: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export function emptyWindow(): ActivityWindow {
  return { recent: [], marked: [], ips: [], detections: [] };
}

const after = (t: number) => (e: { at: Date }) => e.at.getTime() > t;

function capped<T>(list: T[], max: number): T[] {
  return list.length > max ? list.slice(list.length - max) : list;
}

/** The window with `entry` added and everything that fell out of every window dropped. */
export function recordActivity(
  window: ActivityWindow,
  entry: ActivityEntry,
  rules: ComplianceRules,
): ActivityWindow {
  const t = entry.at.getTime();
  const riskFrom = t - rules.riskWindowDays * DAY_MS;
  const recent = [...window.recent.filter(after(t - DAY_MS))];
  recent.push({ at: entry.at, debit: entry.debit, band: entry.band });
  const marked = [...window.marked.filter(after(riskFrom))];
  const high = entry.riskLevel === 'high';
  if (high || entry.flagged) marked.push({ at: entry.at, high, flagged: entry.flagged });
  const ips = window.ips.filter((s) => s.lastAt.getTime() > riskFrom && s.ip !== entry.sourceIp);
  if (entry.sourceIp !== null) ips.push({ ip: entry.sourceIp, lastAt: entry.at });
  return {
    recent: capped(recent, rules.windowMaxEntries),
    marked: capped(marked, rules.windowMaxEntries),
    ips: capped(ips, rules.windowMaxEntries),
    detections: window.detections.filter((d) => d.windowEnd.getTime() > t - DAY_MS),
  };
}

/** The risk score and its inputs as of time `at`, capped at `riskScoreCap`. */
export function riskProfile(window: ActivityWindow, at: Date, rules: ComplianceRules): RiskProfile {
  const t = at.getTime();
  const riskFrom = t - rules.riskWindowDays * DAY_MS;
  const marked = window.marked.filter(after(riskFrom));
  const highRiskCount = marked.filter((m) => m.high).length;
  const flaggedCount = marked.filter((m) => m.flagged).length;
  const distinctSourceIps = window.ips.filter((s) => s.lastAt.getTime() > riskFrom).length;
  const eventsLastHour = window.recent.filter(after(t - HOUR_MS)).length;
  const eventsLast24h = window.recent.filter(after(t - DAY_MS)).length;
  const raw =
    highRiskCount * rules.highRiskPoints +
    flaggedCount * rules.flaggedPoints +
    distinctSourceIps * rules.distinctIpPoints +
    (eventsLastHour > rules.burstEventsPerHour ? rules.burstPoints : 0);
  return {
    riskScore: Math.min(rules.riskScoreCap, raw),
    eventsLastHour,
    eventsLast24h,
    distinctSourceIps,
    highRiskCount,
    flaggedCount,
  };
}

function firing(
  rule: SuspicionRule,
  debits: readonly { at: Date }[],
  fires: boolean,
): Suspicion | undefined {
  if (!fires) return undefined;
  const start = Math.min(...debits.map((d) => d.at.getTime()));
  return {
    rule,
    windowStart: new Date(start),
    windowEnd: new Date(start + DAY_MS),
    count: debits.length,
  };
}

/**
 * The rules that fire at `at` for a new detection window. A window starts at the oldest debit
 * that makes its rule true and lasts 24 hours; windows of one rule never overlap, since only
 * debits at or after the end of the rule's last reported window count towards the next one. So
 * a burst of 30 debits is one detection, and steady activity is reported once a day, not once
 * per debit.
 */
export function detectSuspicions(
  window: ActivityWindow,
  at: Date,
  rules: ComplianceRules,
): Suspicion[] {
  const t = at.getTime();
  const since = (rule: SuspicionRule): number => {
    const last = window.detections.find((d) => d.rule === rule);
    return Math.max(t - DAY_MS + 1, last ? last.windowEnd.getTime() : -Infinity);
  };
  const debitsSince = (from: number) =>
    window.recent.filter((e) => e.debit && e.at.getTime() >= from);
  const velocity = debitsSince(since('high_velocity'));
  const band = debitsSince(since('structuring')).filter((e) => e.band);
  return [
    firing('high_velocity', velocity, velocity.length > rules.velocityDebitsPerDay),
    firing('structuring', band, band.length >= rules.structuringMinDebits),
  ].filter((s): s is Suspicion => s !== undefined);
}

/** The window remembering `reported` as the last detection of their rules. */
export function withDetections(
  window: ActivityWindow,
  reported: readonly Detection[],
): ActivityWindow {
  if (reported.length === 0) return window;
  const rules = new Set(reported.map((r) => r.rule));
  return {
    ...window,
    detections: [
      ...window.detections.filter((d) => !rules.has(d.rule)),
      ...reported.map(({ rule, windowStart, windowEnd }) => ({ rule, windowStart, windowEnd })),
    ],
  };
}
