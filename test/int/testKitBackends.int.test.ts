import { beforeAll, describe, expect, it } from 'vitest';
import accountSummary from '../../projections/account-summary.js';
import aggregateSnapshots from '../../projections/aggregate-snapshots.js';
import balanceProjections from '../../projections/balance-projections.js';
import transactionHistory from '../../projections/transaction-history.js';
import transferSaga from '../../projections/transfer-saga.js';
import upcasters from '../../projections/upcasters.js';
import { eventStore } from '../../src/events/eventStore.js';
import { DEAD_LETTERS } from '../../src/lanes/deadLetters.js';
import {
  DeadLetterError,
  eventStream,
  runModule,
  testModules,
  type ModuleTestOptions,
  type TestEvent,
} from '../../src/modules/testing/index.js';
import { startEngine } from '../helpers/engine.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';
import { createRng } from '../helpers/workload.js';

/**
 * The module test kit's two backends agree, and agree with the daemon:
 *  - the bank's projections and the transfer saga over a seeded bank workload, once in memory
 *    and once against the run's MongoDB server: every document of every collection, every
 *    appended event and every deadline equal (lanes.concurrency 1, so the saga's appends come
 *    in one order in both; a fixed clock);
 *  - a malformed event and a value a handler refuses: the kit's error is the one the daemon
 *    (createDaemon over a real change stream) stores in projector_dead_letters.
 */
const NOW = new Date('2025-06-01T00:00:00Z');

function bankWorkload(seed: number): TestEvent[] {
  const rng = createRng(seed);
  const ids = Array.from({ length: 6 }, (_, i) => `acc-${i}`);
  const streams = new Map(
    ids.map((id) => [id, eventStream(id, { aggregateType: 'BankAccount', eventVersion: '2.0' })]),
  );
  const next = (id: string) => streams.get(id)!;
  const out: TestEvent[] = ids.map((id) =>
    next(id)('AccountCreated', {
      accountNumber: `NO-${id}`,
      accountHolder: `Holder ${id}`,
      accountType: 'checking',
      initialBalance: 50_000,
      currency: 'USD',
    }),
  );
  for (let t = 0; t < 40; t++) {
    const from = ids[Math.floor(rng() * ids.length)]!;
    const to = ids[(ids.indexOf(from) + 1 + Math.floor(rng() * (ids.length - 1))) % ids.length]!;
    const amount = Math.round(rng() * 15_000);
    const transferId = `t-${t}`;
    const old = rng() < 0.2;
    out.push(
      next(from)(
        'FundsDebited',
        {
          transferId,
          amount,
          currency: rng() < 0.2 ? 'EUR' : 'USD',
          toAccountId: to,
          transferType: 'outbound',
          ...(old ? {} : { feeAmount: 1.5, exchangeRate: 1 }),
        },
        old ? { eventVersion: '1.0' } : {},
      ),
    );
    // One transfer in three is two-step: the saga issues the credit.
    if (rng() < 0.66) {
      out.push(
        next(to)('FundsCredited', {
          transferId,
          amount,
          fromAccountId: from,
          transferType: 'inbound',
        }),
      );
    }
  }
  out.push(next('acc-5')('AccountFrozen', { reason: 'test', frozenBy: 'ops' }));
  return out;
}

describe('module test kit: memory and MongoDB backends', () => {
  it('the bank projections and the transfer saga end with the same documents in both', async () => {
    const events = bankWorkload(7);
    const modules = [
      accountSummary,
      transactionHistory,
      balanceProjections,
      aggregateSnapshots,
      transferSaga,
    ];
    const options: ModuleTestOptions = {
      now: NOW,
      upcasters,
      config: { lanes: { concurrency: 1 }, bank: { snapshotEveryEvents: 5 } },
    };
    // The saga credits two-step transfers when its deadline fires; time passes a minute at a time.
    const run = async (o: ModuleTestOptions) => {
      const kit = await testModules(modules, o);
      try {
        await kit.run(events);
        for (let minute = 1; minute < 10; minute++) await kit.advance(60_000);
        return await kit.advance(60_000);
      } finally {
        await kit.close();
      }
    };
    const memory = await run(options);
    const server = await run({ ...options, mongoUri: mongoUri() });
    expect(Object.keys(memory.docs).sort()).toEqual(Object.keys(server.docs).sort());
    for (const [collection, docs] of Object.entries(memory.docs)) {
      expect(server.docs[collection], collection).toEqual(docs);
    }
    expect(memory.docs.account_summary_view).toHaveLength(6);
    expect(memory.appended.map((e) => e.eventType)).toContain('FundsCredited');
    expect(memory.deadlines.map((d) => d.status)).toContain('fired');
    expect(server.appended).toEqual(memory.appended);
    expect(server.deadlines).toEqual(memory.deadlines);
  });
});

describe('module test kit: the daemon’s dead-letter errors', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  beforeAll(async () => {
    ctx = await useTestDb('kitdlq');
  });

  it.each([
    ['a malformed envelope', { version: 0 }, {}],
    ['a value the handler refuses', {}, { amount: '12' }],
  ])('%s', async (_what, envelope, data) => {
    const id = `acc-${Object.keys(envelope).length}`;
    const a = eventStream(id, { aggregateType: 'BankAccount', eventVersion: '2.0' });
    const opened = a('AccountCreated', {
      accountNumber: 'N',
      accountHolder: 'H',
      accountType: 'c',
    });
    const bad = a('FundsDebited', { amount: 5, ...data }, envelope);
    const kitError = await runModule(accountSummary, [opened, bad], { upcasters }).catch(
      (e: unknown) => e,
    );
    expect(kitError).toBeInstanceOf(DeadLetterError);

    await eventStore(ctx.db).insertMany([{ ...opened }, { ...bad }]);
    const daemon = await startEngine(ctx.db, { modules: [accountSummary] });
    try {
      const stored = await waitFor(
        () => ctx.db.collection(DEAD_LETTERS).findOne({ eventId: bad.eventId }),
        { what: 'the daemon to dead-letter the event' },
      );
      expect((kitError as DeadLetterError).error).toEqual(stored.error);
      expect((kitError as DeadLetterError).deadLetters[0]?.status).toBe(stored.status);
    } finally {
      await daemon.stop();
    }
  });
});
