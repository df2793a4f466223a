import type { Db, Document } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINTS } from '../../src/checkpoint/store.js';
import { EVENT_STORE, eventStore } from '../../src/events/eventStore.js';
import { DEAD_LETTERS } from '../../src/lanes/deadLetters.js';
import { LEASES_COLLECTION } from '../../src/leases/leaseManager.js';
import { toError } from '../../src/lib/errors.js';
import { SAGA_DEADLINES, type StoredDeadline } from '../../src/reactions/deadlines.js';
import { createSimulator } from '../../src/simulate/index.js';
import {
  lateCreditRaces,
  moneyInCents,
  ofType,
  phantomDebitTransfers,
  repeatedEffectsBesidesRaces,
  storedEvents,
  transferSagas,
  unfinishedTransfers,
  verifyProjections,
} from '../helpers/bankChecks.js';
import { BANK_MODULES, bankConfig } from '../helpers/bankDaemon.js';
import { useDaemons, type Daemon } from '../helpers/daemon.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';
import { testSeed } from '../helpers/workload.js';

/**
 * kill -9 in the middle of saga steps: `projectord run` (built code, every bank module) follows
 * a simulated bank rich in two-step transfers and is SIGKILLed whenever its reactions have just
 * appended something, then restarted; at the end it is stopped gracefully. Redelivered events
 * re-run handlers and half-fired deadlines fire again, yet nothing may be appended twice, every
 * transfer saga must end, money must be conserved and every projection must verify.
 *
 * A deadline claim left by a killed process goes stale only after 60 s (the scheduler's
 * staleClaimMs, not configurable), and its leases after their ttl: the test ages both at once
 * instead of waiting — what the next owner then does with a half-fired deadline (fire it again)
 * is exactly what is under test.
 */
const KILLS = 3;
/** Short, so the compensations of transfers to frozen accounts happen within a round. */
const CREDIT_DELAY_MS = 200;

/** countDocuments fails on the fallback server while the collection does not exist yet. */
async function count(db: Db, collection: string, filter: Document = {}): Promise<number> {
  return (
    await db
      .collection(collection)
      .find(filter, { projection: { _id: 1 } })
      .toArray()
  ).length;
}

const reactionAppends = (db: Db) =>
  count(db, EVENT_STORE, { 'eventMetadata.producedBy': { $exists: true } });

/**
 * What time would do to a killed process's claims and leases (60 s of staleClaimMs, the lease
 * ttl), done at once so the restart need not wait; returns how many deadline claims it aged.
 */
async function expireDeadOwner(db: Db): Promise<number> {
  await db
    .collection<{ _id: string }>(LEASES_COLLECTION)
    .updateMany({}, { $set: { expiresAt: new Date(0) } });
  const res = await db
    .collection<StoredDeadline>(SAGA_DEADLINES)
    .updateMany({ status: 'firing' }, { $set: { claimedAt: new Date(0) } });
  return res.modifiedCount;
}

/**
 * Settled, read from the database alone (the daemon is another process): every module live and
 * checkpointed past the newest event, no saga deadline due within 30 s, and event_store not
 * grown between two looks.
 */
async function settleStore(db: Db, daemon: Daemon): Promise<void> {
  let previous = -1;
  let waitingFor = 'the first look';
  try {
    await waitFor(
      async () => {
        daemon.assertRunning();
        const [checkpoints, events, newest, due] = await Promise.all([
          db.collection<Document>(CHECKPOINTS).find({}).toArray(),
          count(db, EVENT_STORE),
          eventStore(db).find({}).sort({ storedAt: -1 }).limit(1).next(),
          count(db, SAGA_DEADLINES, {
            status: { $in: ['pending', 'firing'] },
            dueAt: { $lte: new Date(Date.now() + 30_000) },
          }),
        ]);
        const newestAt = newest?.storedAt instanceof Date ? newest.storedAt.getTime() : 0;
        const behind = BANK_MODULES.filter((m) => {
          const c = checkpoints.find((x) => String(x._id) === m);
          return !(
            c?.mode === 'live' &&
            c.lastEventAt instanceof Date &&
            c.lastEventAt.getTime() >= newestAt
          );
        });
        const settled = behind.length === 0 && due === 0 && events === previous;
        waitingFor = `behind: ${behind.join(', ') || 'none'}; deadlines due: ${due}; events ${previous} → ${events}`;
        previous = events;
        return settled;
      },
      { timeoutMs: 45_000, intervalMs: 300, what: 'the daemon to settle' },
    );
  } catch (e) {
    throw new Error(`${toError(e).message}; ${waitingFor}; daemon output:\n${daemon.output()}`);
  }
}

describe('bank sagas under kill -9', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  const daemons = useDaemons();
  beforeAll(async () => {
    ctx = await useTestDb('bank_crash');
  });

  it(
    'appends nothing twice and ends every saga when killed in the middle of saga steps',
    { timeout: 120_000 },
    async () => {
      const seed = testSeed();
      const run = `seed ${seed} (PROJECTORD_TEST_SEED=${seed} repeats it)`;
      const overrides = {
        modules: { paths: [] }, // the built-in bank modules
        // Long enough that a loaded machine never loses a lease; a restart expires the dead one's.
        leases: { ttlMs: 15_000, heartbeatMs: 2_000 },
        bank: { sagas: { transfer: { creditDelayMs: CREDIT_DELAY_MS } } },
      };
      const daemon = daemons.create({
        mongoUri: mongoUri(),
        dbName: ctx.dbName,
        config: overrides,
      });
      await daemon.start();

      // Rich in two-step transfers (credits by the saga) and reversals, with freezes and
      // transfers to frozen accounts (compensated after the saga's credit grace).
      const simulator = createSimulator({
        db: ctx.db,
        seed,
        accounts: 10,
        mix: { 'two-step': 40, 'one-step': 10, 'to-unknown': 5, freeze: 1, 'to-frozen': 5 },
      });
      let commandCredits = 0;
      const simulate = async (count: number) => {
        commandCredits += (await simulator.run({ count })).byType.FundsCredited;
      };
      // Each round: a burst of commands, then SIGKILL as soon as the reactions are appending
      // for it (credits, reversals, review requests), then a restart that finds it half done.
      let agedClaims = 0;
      for (let kill = 0; kill < KILLS; kill++) {
        const before = await reactionAppends(ctx.db);
        await simulate(80);
        await waitFor(
          async () => {
            daemon.assertRunning();
            return (await reactionAppends(ctx.db)) > before;
          },
          { timeoutMs: 30_000, what: `the reactions to append (round ${kill + 1})` },
        );
        daemon.kill('SIGKILL');
        expect((await daemon.waitForExit()).signal).toBe('SIGKILL');
        agedClaims += await expireDeadOwner(ctx.db);
        await daemon.start();
      }
      await simulate(60);
      await settleStore(ctx.db, daemon);
      daemon.kill('SIGTERM');
      expect((await daemon.waitForExit()).code, daemon.output()).toBe(0);

      const events = await storedEvents(ctx.db);
      const races = lateCreditRaces(events, CREDIT_DELAY_MS);
      const phantoms = await phantomDebitTransfers(ctx.db, events);
      expect([...phantoms.keys()], run).toEqual([]);
      expect(repeatedEffectsBesidesRaces(events, races), run).toEqual([]);
      expect(unfinishedTransfers(events), run).toEqual([]);
      const sagas = await transferSagas(ctx.db);
      expect(sagas.open, run).toEqual([]);
      expect(sagas.total - phantoms.size, run).toBe(ofType(events, 'FundsDebited').length);
      expect(ofType(events, 'FundsCredited').length, run).toBeGreaterThan(commandCredits);
      const money = await moneyInCents(ctx.db, events);
      const created = [...races.values(), ...phantoms.values()].reduce((a, b) => a + b, 0);
      expect(money.balances + money.feesKept - created, run).toBe(money.initialDeposits);
      expect(await count(ctx.db, DEAD_LETTERS), run).toBe(0);
      expect(
        await verifyProjections(ctx.db, bankConfig(ctx.dbName)),
        `${run}; ${agedClaims} claims aged`,
      ).toEqual([]);
    },
  );
});
