import type { Document } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_SUMMARY_VIEW } from '../../projections/account-summary.js';
import {
  COMPLIANCE_REVIEW_REQUIRED,
  COMPLIANCE_SAGA_STATE,
} from '../../projections/compliance-review-saga.js';
import {
  COMPLIANCE_AUDIT_VIEW,
  SUSPICIOUS_ACTIVITY_DETECTED,
} from '../../projections/compliance.js';
import { FRAUD_SAGA_STATE, FROZEN_BY } from '../../projections/fraud-saga.js';
import { CHECKPOINTS } from '../../src/checkpoint/store.js';
import { ofType, repeatedEffects, storedEvents, type StoredEvent } from '../helpers/bankChecks.js';
import { bankConfig, settle, useBankDaemons } from '../helpers/bankDaemon.js';
import { bankWriter, type BankWriter, type TransferSpec } from '../helpers/bankEvents.js';
import { useTestDb } from '../helpers/mongo.js';

/**
 * Compliance through the whole daemon: the audit entry of a large debit (DOMAIN.md "Compliance
 * rules"), the review saga it opens, structuring and velocity each reported once per detection
 * window, and the fraud saga freezing an account whose risk score reaches the (configured)
 * threshold while one below it is only monitored. Business times are placed in the past by the
 * events' own timestamps, so the 24-hour windows cost no waiting. Finally every reaction's
 * checkpoint is dropped and the daemon restarted: re-running all events appends nothing more.
 */
const HOUR = 3_600_000;
const MINUTE = 60_000;
const DAY = 24 * HOUR;
const FREEZE_AT = 50;

interface Doc extends Document {
  _id: string;
}

describe('compliance through the engine', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  let bank: BankWriter;
  const daemons = useBankDaemons();
  const config = () =>
    bankConfig(ctx.dbName, { bank: { sagas: { fraud: { freezeRiskScore: FREEZE_AT } } } });
  // Two days ago, on the hour: every window below ends before now.
  const base = new Date(Math.floor((Date.now() - 3 * DAY) / HOUR) * HOUR);
  const at = (ms: number) => new Date(base.getTime() + ms);
  let n = 0;
  const pay = async (t: Omit<TransferSpec, 'transferId' | 'to'>): Promise<string> => {
    const spec = { ...t, transferId: `T-${t.from}-${++n}`, to: 'sink' };
    const { eventId } = await bank.debit(spec);
    await bank.credit(spec);
    return eventId;
  };
  const detections = (events: readonly StoredEvent[], account: string) =>
    ofType(events, SUSPICIOUS_ACTIVITY_DETECTED)
      .filter((e) => e.aggregateId === account)
      .sort((a, b) => a.version - b.version);

  let events: StoredEvent[];
  const debitIds: Record<string, string> = {};
  beforeAll(async () => {
    ctx = await useTestDb('bank_compliance');
    bank = bankWriter(ctx.db);
    const daemon = await daemons.start(config());
    for (const [id, balance] of [
      ['sink', 0],
      ['big', 100_000],
      ['struct', 100_000],
      ['fast', 10_000],
      ['mule', 10_000],
    ] as const) {
      await bank.open(id, balance, at(0));
    }
    debitIds.large = await pay({ from: 'big', amount: 10_000, at: at(HOUR) });
    debitIds.largeForeign = await pay({
      from: 'big',
      amount: 12_000,
      currency: 'EUR',
      at: at(HOUR),
    });
    debitIds.medium = await pay({ from: 'big', amount: 1_500, at: at(2 * HOUR) });
    // Structuring: four debits in the band on day one (one window), three more on day two.
    for (const h of [1, 2, 3, 4, 26, 27, 28])
      await pay({ from: 'struct', amount: 9_500, at: at(h * HOUR) });
    // Velocity: 25 small debits within an hour from one address (one window).
    for (let i = 0; i < 25; i++)
      await pay({ from: 'fast', amount: 20, at: at(DAY + i * 2 * MINUTE) });
    // Velocity from six addresses: risk 25 (burst) + 6 × 5 (addresses) = 55, past FREEZE_AT.
    for (let i = 0; i < 21; i++) {
      const sourceIp = `192.0.2.${1 + (i % 6)}`;
      await pay({ from: 'mule', amount: 20, at: at(DAY + i * 2 * MINUTE), sourceIp });
    }
    await settle(ctx.db, daemon);
    events = await storedEvents(ctx.db);
  });

  it('classifies a large debit per DOMAIN.md and opens one compliance review', async () => {
    const audit = ctx.db.collection<Doc>(COMPLIANCE_AUDIT_VIEW);
    const retention = (d: Date) => new Date(d.getTime() + 2_555 * DAY);
    expect(await audit.findOne({ _id: debitIds.large! })).toMatchObject({
      eventType: 'FundsDebited',
      aggregateId: 'big',
      amount: 10_000,
      currency: 'USD',
      riskLevel: 'high',
      regulatoryFlags: ['large_transaction'],
      complianceCategories: ['financial_transaction', 'aml_monitoring'],
      complianceReferences: ['review-T-big-1'],
      retentionDate: retention(at(HOUR)),
    });
    expect(await audit.findOne({ _id: debitIds.largeForeign! })).toMatchObject({
      riskLevel: 'high',
      regulatoryFlags: ['large_transaction', 'foreign_currency'],
      complianceCategories: ['financial_transaction', 'aml_monitoring', 'currency_reporting'],
    });
    expect(await audit.findOne({ _id: debitIds.medium! })).toMatchObject({
      riskLevel: 'medium',
      regulatoryFlags: [],
      complianceCategories: ['financial_transaction'],
    });

    const required = ofType(events, COMPLIANCE_REVIEW_REQUIRED);
    expect(required.map((e): unknown[] => [e.aggregateId, e.eventData.reviewId]).sort()).toEqual([
      ['big', 'review-T-big-1'],
      ['big', 'review-T-big-2'],
    ]);
    expect(required.find((e) => e.eventData.reviewId === 'review-T-big-1')).toMatchObject({
      eventData: {
        transferId: 'T-big-1',
        amount: 10_000,
        categories: ['financial_transaction', 'aml_monitoring'],
      },
    });
    const reviews = await ctx.db.collection<Doc>(COMPLIANCE_SAGA_STATE).find({}).toArray();
    expect(reviews.map((r) => r._id).sort()).toEqual(['review-T-big-1', 'review-T-big-2']);
    expect(reviews.find((r) => r._id === 'review-T-big-1')).toMatchObject({
      accountId: 'big',
      state: 'awaiting_review',
      currentStep: 'manualReview',
      requiredEventId: required.find((e) => e.eventData.reviewId === 'review-T-big-1')?.eventId,
      steps: { amlCheck: { status: 'passed' }, manualReview: { status: 'pending' } },
    });
  });

  it('reports structuring and velocity once per detection window, not once per debit', () => {
    const windows = (account: string) =>
      detections(events, account).map((e): unknown[] => [
        e.eventData.reasons,
        e.eventData.windowStart,
      ]);
    expect(windows('struct')).toEqual([
      [['structuring'], at(HOUR)],
      [['structuring'], at(26 * HOUR)],
    ]);
    expect(windows('fast')).toEqual([[['high_velocity'], at(DAY)]]);
    expect(windows('mule')).toEqual([[['high_velocity'], at(DAY)]]);
    expect(detections(events, 'big')).toEqual([]);
  });

  it('freezes the account whose risk score reaches the threshold and monitors the other', async () => {
    const [muleDetection] = detections(events, 'mule');
    const [fastDetection] = detections(events, 'fast');
    expect(muleDetection?.eventData.riskScore).toBe(55);
    expect(fastDetection?.eventData.riskScore).toBe(30);
    const freezes = ofType(events, 'AccountFrozen');
    expect(freezes.map((e) => e.aggregateId)).toEqual(['mule']);
    expect(freezes[0]).toMatchObject({
      eventData: { frozenBy: FROZEN_BY, complianceReference: `fraud-${muleDetection!.eventId}` },
      eventMetadata: { causationId: muleDetection!.eventId },
    });
    const fraud = ctx.db.collection<Doc>(FRAUD_SAGA_STATE);
    expect(await fraud.findOne({ _id: 'mule' })).toMatchObject({
      state: 'frozen',
      freezeEventId: freezes[0]!.eventId,
    });
    expect(await fraud.findOne({ _id: 'fast' })).toMatchObject({ state: 'monitoring' });
    expect(await fraud.findOne({ _id: 'struct' })).toMatchObject({
      state: 'monitoring',
      detections: 2,
    });
    const summary = ctx.db.collection<Doc>(ACCOUNT_SUMMARY_VIEW);
    expect(await summary.findOne({ _id: 'mule' })).toMatchObject({ status: 'frozen' });
    expect(await summary.findOne({ _id: 'fast' })).toMatchObject({ status: 'active' });
  });

  it('appends nothing more when every reaction re-runs all events after a reset', async () => {
    const reactions = ['compliance', 'compliance-review-saga', 'fraud-saga', 'transfer-saga'];
    await ctx.db.collection<Doc>(CHECKPOINTS).deleteMany({ _id: { $in: reactions } });
    const daemon = await daemons.start(config());
    // A catch-up leaves no newest-event time in the checkpoints; one live event sets it again.
    const probe = await bank.open('probe', 0);
    await settle(ctx.db, daemon);
    const again = (await storedEvents(ctx.db)).filter((e) => e.eventId !== probe.eventId);
    expect(repeatedEffects(again)).toEqual([]);
    expect(again.map((e) => e.eventId).sort()).toEqual(events.map((e) => e.eventId).sort());
  });
});
