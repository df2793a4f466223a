import type { Document } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMPLIANCE_AUDIT_VIEW } from '../../projections/compliance.js';
import { rulesVersion } from '../../projections/lib/compliance-rules.js';
import { CHECKPOINTS } from '../../src/checkpoint/store.js';
import { complianceSchema } from '../../src/config/bankSchema.js';
import { bankConfig, settle, useBankDaemons } from '../helpers/bankDaemon.js';
import { bankWriter, type BankWriter } from '../helpers/bankEvents.js';
import { useTestDb } from '../helpers/mongo.js';

/**
 * DOMAIN.md "Compliance rules": each audit entry records the rulesVersion it was classified
 * under. The bank daemon classifies under the default rules, is stopped, and comes back with a
 * lower large-transaction threshold: entries written before keep their version and their flags,
 * entries of new events carry the new version and the new classification. Then the compliance
 * module is made to re-run every event under the new rules (checkpoint dropped): the old entries
 * still do not change, since an audit entry is written once and never rewritten.
 */
const LOWERED_THRESHOLD = 5_000;
/** Large under the lowered threshold only. */
const BETWEEN = 6_000;

interface AuditDoc extends Document {
  _id: string;
}

describe('compliance rulesVersion across a rules change', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  let bank: BankWriter;
  const daemons = useBankDaemons();
  const defaultRules = () => bankConfig(ctx.dbName);
  const loweredRules = () =>
    bankConfig(ctx.dbName, {
      bank: { compliance: { largeTransactionThreshold: LOWERED_THRESHOLD } },
    });
  const oldVersion = rulesVersion(complianceSchema.parse({}));
  const newVersion = rulesVersion(
    complianceSchema.parse({ largeTransactionThreshold: LOWERED_THRESHOLD }),
  );
  const audit = () => ctx.db.collection<AuditDoc>(COMPLIANCE_AUDIT_VIEW);
  const entriesOf = async (ids: readonly string[]) =>
    (await audit()
      .find({ _id: { $in: [...ids] } })
      .sort({ _id: 1 })
      .toArray()) as AuditDoc[];

  let n = 0;
  /** A one-step transfer a → sink; the ids of its debit and credit (both financial events). */
  const pay = async (amount: number): Promise<{ debit: string; credit: string }> => {
    const spec = { transferId: `T-${++n}`, from: 'a', to: 'sink', amount };
    const debit = await bank.debit(spec);
    const credit = await bank.credit(spec);
    return { debit: debit.eventId, credit: credit.eventId };
  };

  const before: { between: { debit: string; credit: string }; large: string[] } = {
    between: { debit: '', credit: '' },
    large: [],
  };
  let oldEntries: AuditDoc[];
  let oldIds: string[];
  let after: { debit: string; credit: string };

  beforeAll(async () => {
    ctx = await useTestDb('rules_version');
    bank = bankWriter(ctx.db);
    const first = await daemons.start(defaultRules());
    await bank.open('a', 100_000);
    await bank.open('sink', 0);
    before.between = await pay(BETWEEN);
    const large = await pay(12_000);
    before.large = [large.debit, large.credit];
    await settle(ctx.db, first);
    oldIds = [before.between.debit, before.between.credit, ...before.large];
    oldEntries = await entriesOf(oldIds);
    await first.stop();

    const second = await daemons.start(loweredRules());
    after = await pay(BETWEEN);
    await settle(ctx.db, second);
    await second.stop();
  });

  it('classified the first events under the default rules', () => {
    expect(oldVersion).not.toBe(newVersion);
    expect(oldEntries).toHaveLength(oldIds.length);
    for (const e of oldEntries) expect(e.rulesVersion).toBe(oldVersion);
    expect(oldEntries.find((e) => e._id === before.between.debit)).toMatchObject({
      amount: BETWEEN,
      regulatoryFlags: [],
      riskLevel: 'medium',
      complianceCategories: ['financial_transaction'],
    });
  });

  it('keeps the old entries as they were after the restart with changed rules', async () => {
    expect(await entriesOf(oldIds)).toEqual(oldEntries);
  });

  it('classifies new events under the new rules and records the new version', async () => {
    const found = await entriesOf([after.debit, after.credit]);
    const debit = found.find((e) => e._id === after.debit);
    const credit = found.find((e) => e._id === after.credit);
    expect(debit).toMatchObject({
      amount: BETWEEN,
      rulesVersion: newVersion,
      regulatoryFlags: ['large_transaction'],
      riskLevel: 'high',
      complianceCategories: ['financial_transaction', 'aml_monitoring'],
    });
    expect(credit).toMatchObject({ rulesVersion: newVersion, riskLevel: 'high' });
  });

  it('never rewrites an entry, even when every event is re-classified under the new rules', async () => {
    // Removed on purpose: its reappearance proves the re-run reached the old events.
    const witness = before.between.credit;
    await audit().deleteOne({ _id: witness });
    await ctx.db.collection<AuditDoc>(CHECKPOINTS).deleteOne({ _id: 'compliance' });
    const third = await daemons.start(loweredRules());
    // A catch-up leaves no newest-event time in the checkpoint; one live event sets it again.
    await bank.open('probe', 0);
    await settle(ctx.db, third);

    const again = await entriesOf(oldIds);
    expect(again.find((e) => e._id === witness)).toMatchObject({
      rulesVersion: newVersion,
      regulatoryFlags: ['large_transaction'],
    });
    expect(again.filter((e) => e._id !== witness)).toEqual(
      oldEntries.filter((e) => e._id !== witness),
    );
  });
});
