import { describe, expect, it } from 'vitest';
import { complianceSchema } from '../../src/config/bankSchema.js';
import type { ComplianceRules, RiskLevel } from '../../projections/lib/compliance-rules.js';
import {
  detectSuspicions,
  emptyWindow,
  recordActivity,
  riskProfile,
  withDetections,
  type ActivityEntry,
  type ActivityWindow,
  type Suspicion,
} from '../../projections/lib/compliance-window.js';

const rules: ComplianceRules = complianceSchema.parse({});
const T0 = new Date('2025-03-01T00:00:00Z').getTime();
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function entry(atMs: number, over: Partial<ActivityEntry> = {}): ActivityEntry {
  const riskLevel: RiskLevel = 'low';
  return {
    at: new Date(atMs),
    debit: true,
    riskLevel,
    flagged: false,
    band: false,
    sourceIp: '10.0.0.1',
    ...over,
  };
}

/** Folds entries like the compliance module: record, detect, remember what was reported. */
function run(entries: ActivityEntry[], r: ComplianceRules = rules) {
  let window: ActivityWindow = emptyWindow();
  const reported: Suspicion[] = [];
  for (const e of entries) {
    window = recordActivity(window, e, r);
    const found = detectSuspicions(window, e.at, r);
    reported.push(...found);
    window = withDetections(window, found);
  }
  const last = entries[entries.length - 1];
  return { window, reported, profile: last ? riskProfile(window, last.at, r) : undefined };
}

const every = (n: number, stepMs: number, over: Partial<ActivityEntry> = {}, from = T0) =>
  Array.from({ length: n }, (_, i) => entry(from + i * stepMs, over));

describe('risk score', () => {
  it('adds 20 per high-risk, 15 per flagged, 5 per distinct IP', () => {
    const { profile } = run([
      entry(T0, { riskLevel: 'high', flagged: true, sourceIp: 'a' }),
      entry(T0 + HOUR, { riskLevel: 'medium', flagged: true, sourceIp: 'b' }),
      entry(T0 + 2 * HOUR, { sourceIp: 'a' }),
      entry(T0 + 3 * HOUR, { sourceIp: null }),
    ]);
    expect(profile).toEqual({
      riskScore: 20 + 15 * 2 + 5 * 2,
      eventsLastHour: 1,
      eventsLast24h: 4,
      distinctSourceIps: 2,
      highRiskCount: 1,
      flaggedCount: 2,
    });
  });

  it('adds 25 when more than 10 events fall in the last hour, not at 10', () => {
    expect(run(every(10, 5 * MIN)).profile).toMatchObject({ eventsLastHour: 10, riskScore: 5 });
    expect(run(every(11, 5 * MIN)).profile).toMatchObject({ eventsLastHour: 11, riskScore: 30 });
  });

  it('counts the last hour strictly: an event exactly one hour old is out', () => {
    const { profile } = run([...every(10, MIN), entry(T0 + HOUR)]);
    expect(profile?.eventsLastHour).toBe(10);
    expect(profile?.riskScore).toBe(5);
  });

  it('is capped at 100', () => {
    const { profile } = run(every(5, HOUR, { riskLevel: 'high', flagged: true }));
    expect(profile?.highRiskCount).toBe(5);
    expect(profile?.riskScore).toBe(100);
  });

  it('looks back 30 days: older marks and IPs drop out', () => {
    const old = entry(T0, { riskLevel: 'high', flagged: true, sourceIp: 'old' });
    const at30 = run([old, entry(T0 + 30 * DAY, { sourceIp: 'new' })]).profile;
    expect(at30).toMatchObject({ highRiskCount: 0, flaggedCount: 0, distinctSourceIps: 1 });
    const within = run([old, entry(T0 + 30 * DAY - 1, { sourceIp: 'new' })]).profile;
    expect(within).toMatchObject({ highRiskCount: 1, flaggedCount: 1, distinctSourceIps: 2 });
    expect(within?.riskScore).toBe(20 + 15 + 10);
  });

  it('honours configured points and cap', () => {
    const r = complianceSchema.parse({ highRiskPoints: 50, riskScoreCap: 60 });
    expect(run([entry(T0, { riskLevel: 'high' })], r).profile?.riskScore).toBe(55);
    expect(
      run([entry(T0, { riskLevel: 'high' }), entry(T0 + 1, { riskLevel: 'high' })], r).profile
        ?.riskScore,
    ).toBe(60);
  });
});

describe('velocity: more than 20 debits in 24 hours', () => {
  it('does not fire at 20 debits', () => {
    expect(run(every(20, HOUR)).reported).toEqual([]);
  });

  it('fires once at the 21st debit, and stays quiet for the rest of the window', () => {
    const { reported } = run(every(30, 30 * MIN));
    expect(reported).toHaveLength(1);
    expect(reported[0]).toEqual({
      rule: 'high_velocity',
      windowStart: new Date(T0),
      windowEnd: new Date(T0 + DAY),
      count: 21,
    });
  });

  it('counts debits only', () => {
    expect(run(every(40, 10 * MIN, { debit: false })).reported).toEqual([]);
  });

  it('does not fire when the debits spread over more than 24 hours', () => {
    expect(run(every(30, 72 * MIN)).reported).toEqual([]);
  });

  it('reports steady activity once per window: windows never overlap', () => {
    const { reported } = run(every(60, 55 * MIN));
    const starts = reported.map((s) => s.windowStart.getTime());
    expect(reported.every((s) => s.rule === 'high_velocity')).toBe(true);
    expect(reported).toHaveLength(2);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(DAY);
    expect(reported[1]!.count).toBe(21);
  });
});

describe('structuring: 3+ debits in 24 hours each at 90–100% of the large threshold', () => {
  const band = { band: true, riskLevel: 'medium' as const };
  it('does not fire at two', () => {
    expect(run(every(2, HOUR, band)).reported).toEqual([]);
  });

  it('fires once at the third and not again in the window', () => {
    const { reported } = run([...every(5, HOUR, band), entry(T0 + 6 * HOUR)]);
    expect(reported).toEqual([
      { rule: 'structuring', windowStart: new Date(T0), windowEnd: new Date(T0 + DAY), count: 3 },
    ]);
  });

  it('ignores band debits spread over more than 24 hours, and band credits', () => {
    expect(run(every(3, 12 * HOUR, band)).reported).toEqual([]);
    expect(run(every(5, HOUR, { ...band, debit: false })).reported).toEqual([]);
  });

  it('fires both rules on the same event when both hold', () => {
    const { reported } = run(every(21, MIN, band));
    expect(reported.map((s) => s.rule).sort()).toEqual(['high_velocity', 'structuring']);
  });
});

describe('window size', () => {
  it('keeps only the last 24 hours of events', () => {
    const { window } = run(every(100, HOUR));
    expect(window.recent).toHaveLength(24);
  });

  it('drops the oldest beyond windowMaxEntries', () => {
    const r = complianceSchema.parse({ windowMaxEntries: 100 });
    const { window, profile } = run(every(150, 1, {}, T0), r);
    expect(window.recent).toHaveLength(100);
    expect(profile?.eventsLast24h).toBe(100);
  });
});
