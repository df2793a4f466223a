import type { Document } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createUpcasterRegistry, type UpcasterRegistry } from '../../src/dispatch/upcast.js';
import { loadModules } from '../../src/modules/load.js';
import type { ProjectionDefinition } from '../../src/modules/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { projectInto } from '../../src/replay/projectInto.js';
import { replayModule } from '../../src/replay/replay.js';
import { isProjection } from '../../src/replay/select.js';
import { verifyModule } from '../../src/replay/verify.js';
import { createSimulator } from '../../src/simulate/simulator.js';
import { useTestDb } from '../helpers/mongo.js';

/**
 * replay's ownership rule over the bank projections (DOMAIN.md read models): documents keyed by
 * the account (`_id`), by account and day (`<account>:<day>`) and by event (`accountId` field).
 * The live models are made by projectInto over a simulated workload, damaged for one account,
 * replayed for that account, and then verified against event_store.
 */
const config = loadConfig({ env: {}, flags: {} });
const logger = silentLogger();
const signal = new AbortController().signal;

describe('replay over the bank projections', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  let upcasters: UpcasterRegistry;
  let modules: Map<string, ProjectionDefinition>;
  const module = (name: string) => modules.get(name)!;

  beforeAll(async () => {
    ctx = await useTestDb('replay_bank');
    const loaded = await loadModules({ paths: [], enabled: [] }, { cwd: process.cwd() });
    upcasters = createUpcasterRegistry(loaded.upcasters);
    modules = new Map(loaded.modules.filter(isProjection).map((m) => [m.name, m]));
    await createSimulator({ db: ctx.db, seed: 11, accounts: 6 }).run({ count: 200 });
    const stored = await ctx.db.collection('event_store').countDocuments();
    for (const name of ['transaction-history', 'balance-projections', 'account-summary']) {
      const run = await projectInto({
        db: ctx.db,
        module: module(name),
        upcasters,
        physical: (c) => c,
        config,
        logger,
        signal,
      });
      // Every event is counted as scanned, also without a progress callback.
      expect(run.scanned).toBe(stored);
    }
  });

  async function verdict(name: string) {
    const v = await verifyModule({
      db: ctx.db,
      module: module(name),
      upcasters,
      config,
      logger,
      signal,
      limit: 5,
    });
    return v.status === 'failed' ? v.error.message : v.status === 'match' ? 'match' : v.collections;
  }

  it('replaces an account’s rows, day documents and running balances, and nothing else', async () => {
    const rows = ctx.db.collection<Document & { _id: string }>('transaction_history_view');
    const busiest = await rows
      .aggregate<{ _id: string; n: number }>([
        { $group: { _id: '$accountId', n: { $sum: 1 } } },
        { $sort: { n: -1 } },
        { $limit: 1 },
      ])
      .next();
    const account = busiest!._id;
    expect(busiest!.n).toBeGreaterThanOrEqual(3);
    const [first, second] = await rows.find({ accountId: account }).sort({ _id: 1 }).toArray();
    await rows.deleteOne({ _id: first!._id });
    await rows.updateOne({ _id: second!._id }, { $set: { balanceAfter: -1 } });
    await rows.insertOne({ _id: 'stray-row', accountId: account, amount: 1 });
    const days = ctx.db.collection<Document & { _id: string }>('balance_projections_view');
    await days.updateMany({ accountId: account }, { $inc: { closingBalance: 1000 } });
    await days.insertOne({ _id: `${account}:1999-01-01`, accountId: account });
    const summary = ctx.db.collection<Document & { _id: string }>('account_summary_view');
    await summary.updateOne({ _id: account }, { $set: { currentBalance: 0 } });
    const untouched = await summary.findOne({ _id: { $ne: account } });
    await summary.updateOne({ _id: untouched!._id }, { $set: { accountHolder: 'hand edit' } });

    expect(await verdict('transaction-history')).not.toBe('match');
    expect(await verdict('balance-projections')).not.toBe('match');

    for (const name of ['transaction-history', 'balance-projections', 'account-summary']) {
      const r = await replayModule({
        db: ctx.db,
        module: module(name),
        upcasters,
        config,
        logger,
        signal,
        filter: { aggregates: [account] },
      });
      expect(r.aggregates).toEqual([account]);
    }
    expect(await verdict('transaction-history')).toBe('match');
    expect(await verdict('balance-projections')).toBe('match');
    // Only the selected account was replaced: the hand edit of another one is still there.
    expect(await summary.findOne({ _id: untouched!._id })).toMatchObject({
      accountHolder: 'hand edit',
    });
    const left = await verdict('account-summary');
    expect(JSON.stringify(left)).toContain('accountHolder');
  });
});
