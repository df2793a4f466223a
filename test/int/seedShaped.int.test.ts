import type { Db, Document } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_SUMMARY_VIEW } from '../../projections/account-summary.js';
import { COMPLIANCE_SAGA_STATE } from '../../projections/compliance-review-saga.js';
import { COMPLIANCE_AUDIT_VIEW } from '../../projections/compliance.js';
import { FRAUD_SAGA_STATE } from '../../projections/fraud-saga.js';
import { TRANSFER_SAGA_STATE } from '../../projections/lib/saga-transfer-state.js';
import { TRANSACTION_HISTORY_VIEW } from '../../projections/transaction-history.js';
import { canonicalId } from '../../src/events/ids.js';
import { DEAD_LETTERS } from '../../src/lanes/deadLetters.js';
import {
  moneyInCents,
  ofType,
  repeatedEffects,
  storedEvents,
  transferSagas,
  unfinishedTransfers,
  verifyProjections,
} from '../helpers/bankChecks.js';
import { bankConfig, settle, useBankDaemons } from '../helpers/bankDaemon.js';
import { mongoBackend, useTestDb } from '../helpers/mongo.js';
import { seedCommandSide, type IdMode } from '../helpers/seedCommandSide.js';
import { execute, seedPlan } from '../helpers/seedWorkload.js';
import { testSeed } from '../helpers/workload.js';

/**
 * Events shaped exactly as the seed article's command side writes them (ObjectId event, command,
 * transfer and account ids, "1.0" everywhere, metadata fields left undefined, the one-step credit
 * stamped into the source's stream by storeEvents) through all 8 bank modules: half written
 * before the daemon starts (catch-up), half while it is live. Then every transfer is Completed
 * with exactly one credit, money is conserved, nothing is dead-lettered and verify is clean. The
 * same plan written with string ids (the ObjectIds' hex, undefined fields left out) reaches the
 * same outcome, document for document.
 */
const run = (seed: number) => `seed ${seed} (PROJECTORD_TEST_SEED=${seed} repeats it)`;

/**
 * A document as compared across the two runs: ids canonical, no clock-dependent values, amounts
 * in cents (a balance summed in another order may differ in the last binary digit).
 */
function comparable(doc: Document, drop: readonly string[]): Document {
  const out: Document = {};
  for (const [k, v] of Object.entries(doc)) {
    if (drop.includes(k) || k === '_appliedEvents' || v instanceof Date) continue;
    if (typeof v === 'number') out[k] = Math.round(v * 100) / 100;
    else if (Array.isArray(v)) out[k] = v.map((x: unknown) => canonicalId(x) ?? x);
    else out[k] = canonicalId(v) ?? (v as unknown);
  }
  return out;
}

/**
 * What each collection leaves out of the comparison: versions and running balances depend on
 * when the reactions' own events came between the command side's, a detection's id on the time
 * its window starts, and `_appliedEvents` (the engine's markers) on whether a saga completed at
 * the debit or at the credit right behind it.
 */
const COMPARED: Readonly<Record<string, readonly string[]>> = {
  [ACCOUNT_SUMMARY_VIEW]: ['version'],
  [TRANSACTION_HISTORY_VIEW]: ['balanceAfter'],
  [COMPLIANCE_AUDIT_VIEW]: [],
  [TRANSFER_SAGA_STATE]: ['creditAttempts'],
  [COMPLIANCE_SAGA_STATE]: ['steps'],
  [FRAUD_SAGA_STATE]: ['riskScore', 'maxRiskScore', 'lastDetectionEventId'],
};

async function outcome(db: Db): Promise<Record<string, Document[]>> {
  const out: Record<string, Document[]> = {};
  for (const [collection, drop] of Object.entries(COMPARED)) {
    const docs = await db.collection(collection).find({}).toArray();
    out[collection] = docs
      .map((d) => comparable(d, drop))
      .sort((a, b) => String(a._id).localeCompare(String(b._id)));
  }
  const appended = (await storedEvents(db))
    .filter((e) => typeof e.eventMetadata.producedBy === 'string')
    .map((e) => ({
      eventId: e.eventType === 'SuspiciousActivityDetected' ? 'by window start' : e.eventId,
      aggregateId: e.aggregateId,
      eventType: e.eventType,
      eventData: comparable(e.eventData, ['riskScore']),
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  out.appended = appended;
  return out;
}

describe('the seed article command side through every bank module', () => {
  const daemons = useBankDaemons();
  const seed = testSeed();
  const plan = seedPlan(seed, { accounts: 10, transfers: 60 });
  const outcomes = new Map<IdMode, Record<string, Document[]>>();
  const dbs = new Map<IdMode, Awaited<ReturnType<typeof useTestDb>>>();
  beforeAll(async () => {
    dbs.set('objectId', await useTestDb('seed_oid'));
    dbs.set('string', await useTestDb('seed_str'));
  });

  async function runPlan(mode: IdMode): Promise<void> {
    const ctx = dbs.get(mode)!;
    const side = seedCommandSide(ctx.db, {
      ids: mode,
      transactions: mongoBackend() !== 'mongo-java-server',
    });
    const config = bankConfig(ctx.dbName, {
      // Short, so a credit deadline would race the command side's own credit if the saga did
      // not find it in the source's stream.
      bank: { sagas: { transfer: { creditDelayMs: 100 } } },
    });
    const half = Math.floor(plan.commands.length / 2);
    for (const c of plan.commands.slice(0, half)) await execute(side, c);
    const daemon = await daemons.start(config);
    for (const c of plan.commands.slice(half)) await execute(side, c);
    const why = `${run(seed)}, ${mode} ids`;
    await settle(ctx.db, daemon, { timeoutMs: 50_000 });

    const events = await storedEvents(ctx.db);
    expect(await ctx.db.collection(DEAD_LETTERS).find({}).toArray(), why).toEqual([]);
    expect(repeatedEffects(events), why).toEqual([]);
    expect(unfinishedTransfers(events), why).toEqual([]);
    const debits = ofType(events, 'FundsDebited');
    const credits = ofType(events, 'FundsCredited');
    expect(credits.length, why).toBe(debits.length);
    const sagas = await transferSagas(ctx.db);
    expect(sagas.byState, why).toEqual({ Completed: debits.length });
    const money = await moneyInCents(ctx.db, events);
    expect(money.initialDeposits, why).toBe(Math.round(plan.initialDeposits * 100));
    expect(money.balances + money.feesKept, why).toBe(money.initialDeposits);
    // Every reaction ran: reviews of large debits, the structuring detection, its fraud case.
    expect(ofType(events, 'ComplianceReviewRequired').length, why).toBeGreaterThan(0);
    expect(ofType(events, 'SuspiciousActivityDetected').length, why).toBeGreaterThan(0);
    expect(await ctx.db.collection(FRAUD_SAGA_STATE).countDocuments(), why).toBeGreaterThan(0);

    await daemon.stop();
    expect(await verifyProjections(ctx.db, config), why).toEqual([]);
    outcomes.set(mode, await outcome(ctx.db));
  }

  it('projects ObjectId ids: every transfer Completed once, money conserved, verify clean', async () => {
    await runPlan('objectId');
  });

  it('reaches the same outcome with string ids', async () => {
    await runPlan('string');
    const a = outcomes.get('objectId');
    const b = outcomes.get('string');
    expect(a, 'the ObjectId run must have passed first').toBeDefined();
    expect(b, run(seed)).toEqual(a);
  });
});
