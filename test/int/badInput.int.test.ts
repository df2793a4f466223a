import { ObjectId, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { eventStore } from '../../src/events/eventStore.js';
import { DEAD_LETTERS } from '../../src/lanes/deadLetters.js';
import { createDaemon, type Daemon } from '../../src/lifecycle/daemon.js';
import { loadModules } from '../../src/modules/load.js';
import { silentLogger } from '../../src/observability/logger.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';

/**
 * Bad input through the engine with the built-in bank projections (issue "Modules", DESIGN.md
 * invariant 7): every bad event either ends in the dead letters naming the field or is stored
 * as plain data — never an operator, never a crash, never a stopped daemon.
 */
describe('bad input into the bank read models', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  let daemon: Daemon;
  let failed: unknown;
  let version = 0;

  const event = (eventType: string, eventData: unknown, extra: Document = {}): Document => ({
    eventId: new ObjectId(),
    aggregateId: 'acct-bad',
    aggregateType: 'BankAccount',
    eventType,
    eventVersion: '2.0',
    version: ++version,
    eventTimestamp: new Date(),
    storedAt: new Date(),
    commandId: new ObjectId(),
    eventData,
    eventMetadata: { sourceIp: '10.0.0.1', regulatoryFlags: [] },
    ...extra,
  });
  const debit = (amount: unknown, more: Document = {}) =>
    event('FundsDebited', {
      transferId: `t-${version + 1}`,
      amount,
      currency: 'USD',
      toAccountId: 'acct-other',
      reference: 'r',
      description: 'd',
      debitedBy: 'u',
      debitedAt: new Date(),
      transferType: 'outbound',
      feeAmount: 0,
      exchangeRate: 1,
      ...more,
    });
  const summary = () =>
    ctx.db.collection('account_summary_view').findOne({ _id: 'acct-bad' as never });

  beforeAll(async () => {
    ctx = await useTestDb('bad');
    const { modules, upcasters } = await loadModules(
      { paths: [], enabled: [] },
      { cwd: process.cwd() },
    );
    const projections = modules.filter((m) => m.kind === 'projection');
    let opened = false;
    daemon = createDaemon({
      db: ctx.db,
      config: loadConfig({
        env: {},
        flags: { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } },
      }),
      modules: projections,
      upcasters,
      logger: silentLogger(),
      hooks: { onStreamOpen: () => (opened = true) },
    });
    daemon.finished.catch((e: unknown) => (failed = e));
    await daemon.start();
    await waitFor(() => opened, { what: 'the change stream to open' });
  });
  afterAll(async () => {
    await daemon.stop();
  });

  it('dead-letters bad amounts naming the field, parks only that account, keeps running', async () => {
    await eventStore(ctx.db).insertMany([
      event('AccountCreated', {
        accountNumber: 'N-1',
        accountHolder: 'Zed',
        accountType: 'checking',
        initialBalance: 100,
        currency: 'USD',
        createdBy: '{"$gt": ""}',
        createdAt: new Date(),
        $where: 'sleep(1000)',
      }),
      {
        ...event('AccountCreated', {
          accountNumber: 'N-9',
          accountHolder: { $gt: '' },
          accountType: 'checking',
          initialBalance: 1,
          currency: 'USD',
          createdBy: 'u',
          createdAt: new Date(),
        }),
        aggregateId: 'acct-object-holder',
        version: 1,
      },
    ]);
    await waitFor(async () => (await summary())?.version === 1, {
      what: 'the account to be created',
    });
    // An operator-looking string is stored as plain data.
    expect(await summary()).toMatchObject({ createdBy: '{"$gt": ""}', currentBalance: 100 });
    const holder = await waitFor(() =>
      ctx.db
        .collection(DEAD_LETTERS)
        .findOne({ module: 'account-summary', key: 'acct-object-holder' }),
    );
    expect(holder.error).toMatchObject({ field: 'eventData.accountHolder' });

    await eventStore(ctx.db).insertOne({ ...debit('12.5'), version: 2 });
    const letter = await waitFor(() =>
      ctx.db
        .collection(DEAD_LETTERS)
        .findOne({ module: 'account-summary', key: 'acct-bad', status: 'parked' }),
    );
    expect(letter.error).toMatchObject({ field: 'eventData.amount' });
    expect(await summary()).toMatchObject({ currentBalance: 100, version: 1 });
    expect(failed).toBeUndefined();
  });

  it('rejects NaN, negative and absurd amounts and a missing eventData, each naming the field', async () => {
    const other = (id: string, doc: Document) => ({ ...doc, aggregateId: id, version: 1 });
    await eventStore(ctx.db).insertMany([
      other('acct-nan', debit(Number.NaN)),
      other('acct-neg', debit(-5)),
      other('acct-huge', debit(1e300)),
      other('acct-nodata', { ...debit(1), eventData: undefined }),
    ]);
    const letters = await waitFor(async () => {
      const docs = await ctx.db
        .collection(DEAD_LETTERS)
        .find({ module: 'account-summary', key: { $in: ['acct-nan', 'acct-neg', 'acct-huge'] } })
        .toArray();
      return docs.length === 3 ? docs : undefined;
    });
    for (const l of letters) expect((l.error as { field?: string }).field).toBe('eventData.amount');
    const missing = await waitFor(() =>
      ctx.db
        .collection(DEAD_LETTERS)
        .findOne({ module: 'account-summary', aggregateId: 'acct-nodata' }),
    );
    expect(missing.error).toMatchObject({ field: 'eventData' });
    expect(failed).toBeUndefined();
  });

  it('ignores an unknown event type and never uses a non-string aggregateId as a filter', async () => {
    await eventStore(ctx.db).insertMany([
      { ...event('SomethingNew', { x: 1 }), aggregateId: 'acct-unknown', version: 1 },
      { ...debit(5), aggregateId: { $ne: null }, version: 1 },
      {
        ...event('AccountCreated', {
          accountNumber: 'N-2',
          accountHolder: 'Ann',
          accountType: 'savings',
          initialBalance: 50,
          currency: 'EUR',
          createdBy: 'u',
          createdAt: new Date(),
          'odd.key': 1,
          $where: 'sleep(1000)',
        }),
        aggregateId: 'acct-after',
        version: 1,
      },
    ]);
    await waitFor(
      async () =>
        (await ctx.db.collection('account_summary_view').findOne({ _id: 'acct-after' as never }))
          ?.currentBalance === 50,
    );
    const invalid = await ctx.db
      .collection(DEAD_LETTERS)
      .find({ status: 'invalid', 'error.field': 'aggregateId' })
      .toArray();
    expect(invalid.length).toBeGreaterThan(0);
    expect(
      await ctx.db.collection(DEAD_LETTERS).countDocuments({ aggregateId: 'acct-unknown' }),
    ).toBe(0);
    // The non-string aggregateId matched nothing: no read-model document was touched by it.
    expect(
      (await ctx.db.collection('account_summary_view').find({}).toArray())
        .map((d) => String(d._id))
        .sort(),
    ).toEqual(['acct-after', 'acct-bad']);
    expect(failed).toBeUndefined();
  });
});
