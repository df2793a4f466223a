import {
  MongoClient,
  MongoNetworkError,
  type ChangeStreamInsertDocument,
  type Db,
  type ResumeToken,
} from 'mongodb';
import { afterEach, beforeAll, describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import { toError } from '../../src/lib/errors.js';
import { EVENT_COUNTER_MODULE } from '../../src/modules/testing/eventCounter.js';
import { readCheckpoint, useDaemons } from '../helpers/daemon.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';
import { storedCounterTotal, waitForConvergence } from '../helpers/recompute.js';
import { mongoTarget, proxiedMongoUri, startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';
import { createRng, startWorkload, testSeed } from '../helpers/workload.js';

/**
 * Dropped connections (DESIGN.md invariant 1): the daemon talks to MongoDB only through a TCP
 * proxy that resets every connection at seeded random moments while events are appended; the
 * read model must still converge with nothing lost and nothing applied twice.
 *
 * The first test proves the injection itself, and pins down what the driver (7.x) does with it:
 * a cut while a getMore waits for its reply is a MongoNetworkError and the change stream resumes
 * by itself; a cut just before the getMore is written surfaces as a plain Node socket error
 * (`Error: write ECONNRESET`, not a MongoError) that closes the stream. So a source must treat
 * socket error codes as transient too and reopen the stream from its last token.
 */
const SOCKET_ERROR_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT']);

function isNetworkError(e: Error): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return e instanceof MongoNetworkError || (code !== undefined && SOCKET_ERROR_CODES.has(code));
}

const seed = testSeed();
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('connection cuts', () => {
  const daemons = useDaemons();
  let db: Db;
  let dbName: string;
  let proxy: TcpProxy | undefined;

  beforeAll(async () => {
    ({ db, dbName } = await useTestDb('cuts'));
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  it('a cut fails the op in flight; the change stream resumes from its token exactly', async () => {
    proxy = await startTcpProxy(mongoTarget(mongoUri()));
    const client = new MongoClient(proxiedMongoUri(mongoUri(), proxy), {
      monitorCommands: true,
      serverSelectionTimeoutMS: 10_000,
    });
    const failedGetMores: Error[] = [];
    let startedGetMores = 0;
    client.on('commandStarted', (e) => {
      if (e.commandName === 'getMore') startedGetMores += 1;
    });
    client.on('commandFailed', (e) => {
      if (e.commandName === 'getMore') failedGetMores.push(e.failure);
    });
    type Change = ChangeStreamInsertDocument<{ n: number }>;
    const viaProxy = client.db(dbName).collection<{ n: number }>('driver_cut');
    const direct = db.collection<{ n: number }>('driver_cut');
    const open = (resumeAfter?: ResumeToken) =>
      viaProxy.watch<{ n: number }, Change>([{ $match: { operationType: 'insert' } }], {
        ...(resumeAfter === undefined ? {} : { resumeAfter }),
      });
    let stream = open();
    const selfResumed: number[] = [];
    try {
      await stream.tryNext();
      await direct.insertOne({ n: 0 });
      let token = (await stream.next())._id;
      for (let n = 1; n <= 6; n++) {
        const failuresBefore = failedGetMores.length;
        const acceptedBefore = proxy.accepted;
        const startedBefore = startedGetMores;
        const pending = stream.next().then(
          (change) => ({ change }),
          (error: unknown) => ({ error: toError(error) }),
        );
        // Even rounds cut as the getMore is written; odd ones (usually) while it awaits its reply.
        if (n % 2 === 1) {
          await waitFor(() => startedGetMores > startedBefore, { what: 'a getMore started' });
          await pause(20);
        }
        expect(proxy.cutAll()).toBeGreaterThan(0);
        await waitFor(() => failedGetMores.length > failuresBefore, {
          what: 'the getMore in flight to fail',
        });
        await direct.insertOne({ n });
        const outcome = await pending;
        let change: Change;
        if ('change' in outcome) {
          change = outcome.change;
          selfResumed.push(n);
        } else {
          expect(isNetworkError(outcome.error), String(outcome.error)).toBe(true);
          await stream.close();
          stream = open(token);
          change = await stream.next();
        }
        expect(change.fullDocument.n).toBe(n);
        expect(proxy.accepted).toBeGreaterThan(acceptedBefore);
        token = change._id;
      }
      await direct.insertOne({ n: 7 });
      expect((await stream.next()).fullDocument.n).toBe(7);
      console.log(`[connectionCuts] driver resumed by itself after cuts ${selfResumed.join(',')}`);
    } finally {
      await stream.close().catch(() => undefined);
      await client.close();
    }
  });

  // Not retried: a daemon that stops progressing after a cut is the bug this test exists for
  // (driver operations left unsettled on a reset socket; see src/lib/timeout.ts).
  it(
    'the daemon converges after 10 cuts during appends: no loss, no double effect',
    { timeout: 120_000 },
    async () => {
      const rng = createRng(seed);
      const prefix = 'cut';
      proxy = await startTcpProxy(mongoTarget(mongoUri()));
      const daemon = daemons.create({ mongoUri: proxiedMongoUri(mongoUri(), proxy), dbName });
      onTestFailed(() => {
        console.error(`[connectionCuts] seed=${seed} (PROJECTORD_TEST_SEED=${seed} to repeat)`);
        console.error(`[connectionCuts] daemon output:\n${daemon.output()}`);
      });
      console.log(`[connectionCuts] seed=${seed}`);

      const workload = startWorkload(db, {
        events: 2500,
        aggregates: 20,
        seed,
        aggregatePrefix: prefix,
        batchSize: 20,
        eventsPerSecond: 250,
      });
      onTestFinished(async () => {
        await workload.stop().catch(() => undefined);
      });
      await daemon.start();
      await waitFor(
        async () => {
          daemon.assertRunning();
          return (await storedCounterTotal(db)) > 0;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: `first events applied (seed ${seed})` },
      );

      for (let tries = 0; proxy.cuts < 10 && tries < 40; tries++) {
        await pause(300 + Math.floor(rng() * 500));
        daemon.assertRunning();
        proxy.cutAll();
      }
      expect(proxy.cuts, `seed ${seed}`).toBe(10);
      const written = await workload.done;

      await waitForConvergence(db, {
        timeoutMs: 60_000,
        check: () => daemon.assertRunning(),
        context: `seed ${seed}`,
      });
      // Equal to the recomputation from event_store (waitForConvergence checked every aggregate
      // and the total); every event the workload wrote is in it.
      expect(await storedCounterTotal(db)).toBe(written.events);
      expect(await readCheckpoint(db, EVENT_COUNTER_MODULE)).not.toBeNull();
      daemon.assertRunning();
    },
  );
});
