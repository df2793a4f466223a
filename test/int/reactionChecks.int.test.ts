import type { Db, MongoClient } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { COMPLIANCE_AUDIT_VIEW } from '../../projections/compliance.js';
import { checkBankReactions, type ReactionCheck } from '../../projections/lib/reactionChecks.js';
import { TRANSFER_SAGA_STATE } from '../../projections/lib/saga-transfer-state.js';
import { eventStore } from '../../src/events/eventStore.js';
import { bankWriter, type BankWriter } from '../helpers/bankEvents.js';
import { useTestDb } from '../helpers/mongo.js';

/**
 * The demo's checks of the bank reactions (projections/lib/reactionChecks.ts) on stores written
 * by hand, without a daemon: a consistent store passes, and each kind of broken effect is named.
 */
describe('bank reaction checks', () => {
  let client: MongoClient;
  let dbName: string;
  let db: Db;
  let bank: BankWriter;
  const used: Db[] = [];
  beforeAll(async () => {
    ({ client, dbName } = await useTestDb('reaction_checks'));
  });
  beforeEach(() => {
    // A database per test: each writes its own small store.
    db = client.db(`${dbName}_${used.length}`);
    used.push(db);
    bank = bankWriter(db);
  });
  afterAll(async () => {
    for (const d of used) await d.dropDatabase().catch(() => undefined);
  });

  const byModule = async (): Promise<Record<string, ReactionCheck>> =>
    Object.fromEntries(
      (await checkBankReactions(db, ['compliance', 'transfer-saga'])).map((c) => [c.module, c]),
    );
  const sagaState = (transferId: string, state: string) =>
    db.collection(TRANSFER_SAGA_STATE).insertOne({ _id: transferId as never, state });
  const audit = async () => {
    const ids = await eventStore(db)
      .find({ eventType: { $in: ['FundsDebited', 'FundsCredited', 'DebitReversed'] } })
      .toArray();
    if (ids.length > 0)
      await db
        .collection(COMPLIANCE_AUDIT_VIEW)
        .insertMany(ids.map((e) => ({ _id: String(e.eventId) as never })));
  };
  const t = { transferId: 'T1', from: 'a', to: 'b', amount: 10 };

  it('passes a consistent store and counts what it checked', async () => {
    await bank.open('a', 100);
    await bank.open('b', 0);
    await bank.transfer(t);
    await sagaState('T1', 'Completed');
    await audit();
    const checks = await byModule();
    expect(checks['transfer-saga']).toMatchObject({ ok: true, findings: [] });
    expect(checks['transfer-saga']!.summary).toContain('1 transfers (Completed 1)');
    expect(checks.compliance).toMatchObject({ ok: true, findings: [] });
    expect(checks.compliance!.summary).toContain('2 audit entries for 2 money events');
  });

  it('names a transfer credited twice, a saga not ended and a debit with no saga', async () => {
    await bank.open('a', 100);
    await bank.open('b', 0);
    await bank.transfer(t);
    await bank.credit(t); // a second credit of T1
    await bank.debit({ ...t, transferId: 'T2' }); // no saga, never credited
    await sagaState('T1', 'CreditPending');
    await audit();
    const findings = (await byModule())['transfer-saga']!.findings;
    expect(findings).toEqual(
      expect.arrayContaining([
        'FundsCredited of transfer T1 appears 2 times',
        'transfers not ended: T1 (CreditPending)',
        'debits with no saga: T2',
        'transfer T2 debited, neither credited nor reversed',
      ]),
    );
  });

  it('names a money event with no audit entry and an entry of no stored event', async () => {
    await bank.open('a', 100);
    await bank.open('b', 0);
    const debit = await bank.debit(t);
    await db.collection(COMPLIANCE_AUDIT_VIEW).insertOne({ _id: 'ghost' as never });
    const check = (await byModule()).compliance!;
    expect(check.ok).toBe(false);
    expect(check.findings).toEqual([
      `money events with no audit entry: ${debit.eventId}`,
      'audit entries of no stored event: ghost',
    ]);
  });
});
