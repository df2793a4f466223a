import { describe, expect, it } from 'vitest';
import compliance, {
  COMPLIANCE_AUDIT_VIEW,
  COMPLIANCE_RISK_PROFILES,
} from '../../projections/compliance.js';
import { rulesVersion } from '../../projections/lib/compliance-rules.js';
import { isEventValidationError } from '../../projections/lib/validate.js';
import { complianceSchema } from '../../src/config/bankSchema.js';
import type { EventData, EventMetadata, ProjectorEvent } from '../../src/events/types.js';
import { reactionEventId } from '../../src/reactions/append.js';
import { createMemoryWorld, type MemoryWorld } from '../helpers/memoryReactionContext.js';

const MIN = 60_000;
const meta = {
  sourceIp: '10.1.2.3',
  userAgent: 'bank-app/1.0',
  correlationId: 'corr-1',
  causationId: 'cmd-1',
};

function debit(w: MemoryWorld, account: string, amount: number, over: EventData = {}) {
  return w.write(
    account,
    'FundsDebited',
    {
      transferId: `t-${w.events.length + 1}`,
      amount,
      currency: 'USD',
      toAccountId: 'acc-dest',
      debitedBy: 'alice',
      feeAmount: 0,
      ...over,
    },
    { eventMetadata: { ...meta } },
  );
}

async function failure(p: Promise<unknown>): Promise<{ field: string }> {
  try {
    await p;
  } catch (e) {
    if (isEventValidationError(e)) return e;
    throw e;
  }
  throw new Error('expected an EventValidationError');
}

describe('compliance reaction: audit entries', () => {
  it('writes one entry per financial event with exactly the documented fields', async () => {
    const w = createMemoryWorld();
    const e = debit(w, 'acc-1', 12_000, { currency: 'EUR', transferId: 'T1' });
    await w.deliver(compliance, e);
    const entry = w.get(COMPLIANCE_AUDIT_VIEW, e.eventId);
    expect(entry).toEqual({
      _id: e.eventId,
      eventId: e.eventId,
      aggregateId: 'acc-1',
      eventType: 'FundsDebited',
      timestamp: e.eventTimestamp,
      amount: 12_000,
      currency: 'EUR',
      regulatoryFlags: ['large_transaction', 'foreign_currency'],
      complianceReferences: ['review-T1'],
      performedBy: 'alice',
      sourceIp: '10.1.2.3',
      userAgent: 'bank-app/1.0',
      correlationId: 'corr-1',
      causationId: 'cmd-1',
      riskLevel: 'high',
      complianceCategories: ['financial_transaction', 'aml_monitoring', 'currency_reporting'],
      retentionDate: new Date(e.eventTimestamp.getTime() + 2_555 * 86_400_000),
      rulesVersion: rulesVersion(complianceSchema.parse({})),
    });
  });

  it("keeps the command side's own regulatory flags beside the computed ones", async () => {
    const w = createMemoryWorld();
    const e = w.write(
      'acc-1',
      'FundsCredited',
      { transferId: 'T', amount: 50, currency: 'USD', creditedBy: 'bob' },
      {
        eventMetadata: { regulatoryFlags: ['pep_customer'] },
      },
    );
    await w.deliver(compliance, e);
    expect(w.get(COMPLIANCE_AUDIT_VIEW, e.eventId)).toMatchObject({
      regulatoryFlags: ['pep_customer'],
      riskLevel: 'low',
      performedBy: 'bob',
      complianceReferences: [],
      sourceIp: null,
      correlationId: null,
    });
  });

  it('classifies a DebitReversed without a currency as no foreign currency', async () => {
    const w = createMemoryWorld();
    const e = w.write('acc-1', 'DebitReversed', {
      transferId: 'T',
      amount: 2_000,
      feeAmount: 1,
      reason: 'x',
    });
    await w.deliver(compliance, e);
    expect(w.get(COMPLIANCE_AUDIT_VIEW, e.eventId)).toMatchObject({
      currency: null,
      regulatoryFlags: [],
      riskLevel: 'medium',
    });
  });

  it('stores operator-looking values as plain strings', async () => {
    const w = createMemoryWorld();
    const e = w.write(
      'acc-1',
      'FundsDebited',
      { transferId: 'T', amount: 1, currency: 'USD', toAccountId: 'd' },
      {
        eventMetadata: { sourceIp: '{"$gt": ""}' },
      },
    );
    await w.deliver(compliance, e);
    expect(w.get(COMPLIANCE_AUDIT_VIEW, e.eventId)?.sourceIp).toBe('{"$gt": ""}');
  });

  const bad: [string, EventData, Partial<ProjectorEvent>, string][] = [
    ['a missing amount', { currency: 'USD' }, {}, 'eventData.amount'],
    ['a string amount', { amount: '{"$gt": 0}', currency: 'USD' }, {}, 'eventData.amount'],
    ['a negative amount', { amount: -5, currency: 'USD' }, {}, 'eventData.amount'],
    ['a missing currency', { amount: 5 }, {}, 'eventData.currency'],
    ['a numeric currency', { amount: 5, currency: 840 }, {}, 'eventData.currency'],
    ['a bad fee', { amount: 5, currency: 'USD', feeAmount: 'x' }, {}, 'eventData.feeAmount'],
    [
      'an invalid timestamp',
      { amount: 5, currency: 'USD' },
      { eventTimestamp: new Date('x') },
      'eventTimestamp',
    ],
    [
      'a numeric source IP',
      { amount: 5, currency: 'USD' },
      { eventMetadata: { sourceIp: 7 } as unknown as EventMetadata },
      'eventMetadata.sourceIp',
    ],
    [
      'flags that are not strings',
      { amount: 5, currency: 'USD' },
      { eventMetadata: { regulatoryFlags: [1] } as unknown as EventMetadata },
      'eventMetadata.regulatoryFlags',
    ],
  ];
  it.each(bad)(
    'rejects %s, naming the field, and writes nothing',
    async (_what, data, over, field) => {
      const w = createMemoryWorld();
      const e = w.write('acc-1', 'FundsDebited', data, over);
      expect((await failure(w.deliver(compliance, e))).field).toBe(field);
      expect(w.all(COMPLIANCE_AUDIT_VIEW)).toEqual([]);
      expect(w.all(COMPLIANCE_RISK_PROFILES)).toEqual([]);
    },
  );
});

describe('compliance reaction: risk profiles and suspicious activity', () => {
  it('keeps the account risk profile as of its last event', async () => {
    const w = createMemoryWorld();
    await w.deliver(compliance, debit(w, 'acc-1', 10_000));
    w.advance(MIN);
    await w.deliver(compliance, debit(w, 'acc-1', 20, { currency: 'EUR' }));
    expect(w.get(COMPLIANCE_RISK_PROFILES, 'acc-1')).toMatchObject({
      riskScore: 20 + 15 * 2 + 5,
      eventsLastHour: 2,
      eventsLast24h: 2,
      distinctSourceIps: 1,
      highRiskCount: 1,
      flaggedCount: 2,
      version: 2,
    });
  });

  it('counts an event flagged only by the command side as flagged (+15), like its audit entry', async () => {
    const w = createMemoryWorld();
    const e = w.write(
      'acc-1',
      'FundsDebited',
      { transferId: 'T', amount: 50, currency: 'USD', toAccountId: 'acc-dest', debitedBy: 'alice' },
      { eventMetadata: { ...meta, regulatoryFlags: ['pep_customer'] } },
    );
    await w.deliver(compliance, e);
    expect(w.get(COMPLIANCE_AUDIT_VIEW, e.eventId)).toMatchObject({
      regulatoryFlags: ['pep_customer'],
      riskLevel: 'low',
    });
    expect(w.get(COMPLIANCE_RISK_PROFILES, 'acc-1')).toMatchObject({
      riskScore: 15 + 5,
      highRiskCount: 0,
      flaggedCount: 1,
      distinctSourceIps: 1,
    });
  });

  it('counts an event flagged by both the rules and the command side once', async () => {
    const w = createMemoryWorld();
    const e = w.write(
      'acc-1',
      'FundsDebited',
      { transferId: 'T', amount: 50, currency: 'EUR', toAccountId: 'acc-dest' },
      { eventMetadata: { ...meta, regulatoryFlags: ['pep_customer', 'foreign_currency'] } },
    );
    await w.deliver(compliance, e);
    expect(w.get(COMPLIANCE_AUDIT_VIEW, e.eventId)?.regulatoryFlags).toEqual([
      'foreign_currency',
      'pep_customer',
    ]);
    expect(w.get(COMPLIANCE_RISK_PROFILES, 'acc-1')).toMatchObject({
      riskScore: 15 + 5,
      flaggedCount: 1,
    });
  });

  it('reports velocity once: the 21st debit in a day appends one detection', async () => {
    const w = createMemoryWorld();
    for (let i = 0; i < 25; i++) {
      await w.deliver(compliance, debit(w, 'acc-1', 10));
      w.advance(2 * MIN);
    }
    const found = w.ofType('SuspiciousActivityDetected');
    expect(found).toHaveLength(1);
    const first = w.events.find((e) => e.eventType === 'FundsDebited')!;
    expect(found[0]).toMatchObject({
      aggregateId: 'acc-1',
      version: 22,
      eventData: {
        reasons: ['high_velocity'],
        riskScore: 5 + 25,
        windowStart: first.eventTimestamp,
        windowEnd: new Date(first.eventTimestamp.getTime() + 86_400_000),
      },
      eventMetadata: { correlationId: 'corr-1', causationId: w.events[20]?.eventId },
    });
    expect(found[0]?.eventId).toBe(
      reactionEventId('compliance', `acc-1:high_velocity:${first.eventTimestamp.toISOString()}`),
    );
  });

  it('reports structuring once for three debits just under the threshold', async () => {
    const w = createMemoryWorld();
    for (const amount of [9_000, 9_999.99, 9_500, 9_800]) {
      await w.deliver(compliance, debit(w, 'acc-1', amount));
      w.advance(MIN);
    }
    const found = w.ofType('SuspiciousActivityDetected');
    expect(found.map((e) => e.eventData.reasons)).toEqual([['structuring']]);
  });

  it('does not report structuring for amounts outside the band', async () => {
    const w = createMemoryWorld();
    for (const amount of [8_999.99, 10_000, 9_000]) {
      await w.deliver(compliance, debit(w, 'acc-1', amount));
    }
    expect(w.ofType('SuspiciousActivityDetected')).toEqual([]);
  });

  it('appends nothing twice when the event is redelivered after a crash', async () => {
    const w = createMemoryWorld();
    const events = [9_100, 9_200, 9_300].map((a) => debit(w, 'acc-1', a));
    for (const e of events.slice(0, 2)) await w.deliver(compliance, e);
    await w.deliver(compliance, events[2]!, { crashBeforeCommit: true });
    expect(w.ofType('SuspiciousActivityDetected')).toHaveLength(1);
    await w.deliver(compliance, events[2]!);
    await w.deliver(compliance, events[2]!);
    expect(w.ofType('SuspiciousActivityDetected')).toHaveLength(1);
    expect(w.get(COMPLIANCE_RISK_PROFILES, 'acc-1')?.version).toBe(3);
  });

  it('throws (so the engine retries) when the detection cannot be appended', async () => {
    const w = createMemoryWorld();
    const events = [9_100, 9_200, 9_300].map((a) => debit(w, 'acc-1', a));
    w.contend(() => true);
    for (const e of events.slice(0, 2)) await w.deliver(compliance, e);
    await expect(w.deliver(compliance, events[2]!)).rejects.toThrow(/Could not report structuring/);
    expect(w.get(COMPLIANCE_RISK_PROFILES, 'acc-1')?.version).toBe(2);
  });
});
