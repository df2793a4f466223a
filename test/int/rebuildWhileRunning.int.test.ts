import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from 'mongodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createUpcasterRegistry } from '../../src/dispatch/upcast.js';
import { eventStore } from '../../src/events/eventStore.js';
import { rebuildExclusively } from '../../src/leases/handover.js';
import { LEASES_COLLECTION, type LeaseDocument } from '../../src/leases/leaseManager.js';
import { toError } from '../../src/lib/errors.js';
import { packageRoot } from '../../src/lib/paths.js';
import { runDaemon, type RunningDaemon } from '../../src/lifecycle/runDaemon.js';
import eventCounter, {
  EVENT_COUNTER_MODULE,
  EVENT_COUNTER_VIEW,
} from '../../src/modules/testing/eventCounter.js';
import { silentLogger } from '../../src/observability/logger.js';
import { rebuildModule } from '../../src/replay/rebuild.js';
import { operatorArgs, runCli, useCounterAndSagaConfig } from '../helpers/cli.js';
import { counterEvents } from '../helpers/engine.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';
import { waitForConvergence } from '../helpers/recompute.js';
import { startWorkload, testEvent, testSeed } from '../helpers/workload.js';

/**
 * `projectord rebuild` while a `projectord run` daemon (runDaemon in this process, with its
 * lease keeper; 3 s leases, 500 ms heartbeats) runs the event-counter and events keep coming.
 * The rebuild path is the CLI's (rebuildModule with rebuildExclusively). Its test seam appends
 * events after pass 2 and waits until the daemon has applied them to the live collections: the
 * window whose writes the swap used to lose. The read model must end exactly as recomputed from
 * event_store, and the daemon must have handed the module over and taken it back.
 */
const seed = testSeed();
// 3 s, not less: on the fallback server the cluster time T3 is the local clock minus 2 s
// (source/clusterTime.ts), and the handover takes at least ttl - heartbeat, so T3 falls after
// the events of the window, and only pass 3 can bring them back into the swapped-in model.
const leases = { ttlMs: 3000, heartbeatMs: 500 };

function testConfig(dbName: string, instanceId: string) {
  return loadConfig({
    env: {},
    flags: {
      mongoUri: mongoUri(),
      db: dbName,
      instanceId,
      modules: { paths: [join(packageRoot(), 'src', 'modules', 'testing', 'eventCounter.ts')] },
      metrics: { host: '127.0.0.1', port: 0 },
      checkpoint: { everyEvents: 20, everyMs: 100 },
      leases,
      shutdown: { timeoutMs: 10_000 },
      mongo: { operationTimeoutMs: 5000 },
    },
  });
}

describe(`rebuild while a daemon runs the module (seed ${seed})`, () => {
  let db: Db;
  let dbName: string;
  let running: RunningDaemon | undefined;
  let failure: Error | undefined;
  const operatorConfig = useCounterAndSagaConfig('rebuild-refused');
  beforeAll(async () => {
    ({ db, dbName } = await useTestDb('rebuild_live'));
    await eventStore(db).insertMany(counterEvents(10, 20));
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  const lease = () =>
    db.collection<LeaseDocument>(LEASES_COLLECTION).findOne({ _id: EVENT_COUNTER_MODULE });
  const view = () => db.collection<{ _id: string; count?: number }>(EVENT_COUNTER_VIEW);
  const daemonAlive = () => {
    if (failure) throw failure;
  };

  it('loses nothing the daemon wrote before the swap and applies nothing twice', async () => {
    running = await runDaemon({ config: testConfig(dbName, 'daemon-a'), logger: silentLogger() });
    running.finished.catch((e: unknown) => (failure = toError(e)));
    await waitForConvergence(db, { timeoutMs: 20_000, check: daemonAlive });
    const before = await lease();
    expect(before).toMatchObject({ owner: 'daemon-a' });

    const workload = startWorkload(db, {
      events: 1_000_000,
      aggregates: 20,
      seed,
      aggregatePrefix: 'live',
      batchSize: 5,
      eventsPerSecond: 200,
    });
    let windowApplied = false;
    const config = testConfig(dbName, 'rebuilder');
    const signal = new AbortController().signal;
    const logger = silentLogger();
    let result: Awaited<ReturnType<typeof rebuildModule>>;
    try {
      result = await rebuildModule({
        db,
        module: eventCounter,
        upcasters: createUpcasterRegistry([]),
        config,
        logger,
        signal,
        exclusive: rebuildExclusively({ db, config, module: EVENT_COUNTER_MODULE, logger, signal }),
        afterCatchUp: async () => {
          const at = new Date();
          await eventStore(db).insertMany([1, 2, 3, 4, 5].map((v) => testEvent('window', v, at)));
          await waitFor(async () => (await view().findOne({ _id: 'window' }))?.count === 5, {
            what: 'the daemon to apply the events stored after pass 2',
          });
          windowApplied = true;
        },
      });
      // Handed over (the rebuild's acquire: one fence up), then taken back (another), while
      // events keep coming.
      await waitFor(
        async () => {
          const l = await lease();
          return l?.owner === 'daemon-a' && l.fence === (before?.fence ?? 0) + 2;
        },
        { what: 'the daemon to take the module back' },
      );
      const written = workload.written();
      await waitFor(() => workload.written() >= written + 20, { what: 'more events appended' });
    } finally {
      await workload.stop();
    }
    expect(windowApplied).toBe(true);
    expect(result.third?.handled).toBeGreaterThanOrEqual(5);

    await waitForConvergence(db, {
      timeoutMs: 20_000,
      check: daemonAlive,
      context: `seed ${seed}, ${workload.written()} events appended during the rebuild`,
    });
    expect(await view().findOne({ _id: 'window' })).toMatchObject({ count: 5, version: 5 });
    const after = await lease();
    expect(after).toMatchObject({ owner: 'daemon-a', fence: (before?.fence ?? 0) + 2 });
    expect(after?.expiresAt.getTime()).toBeGreaterThan(Date.now());
    expect(after?.handover).toBeUndefined();
    expect(running.daemon.status().map((s) => s.module)).toEqual([EVENT_COUNTER_MODULE]);
  });

  it('gives up on an owner that ignores the request: exit 1, named, everything left as it was', async () => {
    // The operator config of cli.ts, with a short lease so giving up takes ttl + heartbeat.
    const config = JSON.parse(readFileSync(operatorConfig, 'utf8')) as Record<string, unknown>;
    writeFileSync(
      operatorConfig,
      JSON.stringify({ ...config, leases: { ttlMs: 1000, heartbeatMs: 250 } }),
    );
    const leasesColl = db.collection<LeaseDocument>(LEASES_COLLECTION);
    const checkpoints = db.collection<{ _id: string }>('projector_checkpoints');
    const cpBefore = await checkpoints.findOne({ _id: EVENT_COUNTER_MODULE });
    const viewBefore = await view().find({}).sort({ _id: 1 }).toArray();
    const hold = () =>
      leasesColl.updateOne(
        { _id: EVENT_COUNTER_MODULE },
        {
          $set: { owner: 'old-projectord', expiresAt: new Date(Date.now() + 1000) },
          $inc: { fence: 1 },
        },
        { upsert: true },
      );
    await hold();
    // An older projectord keeps renewing without looking at the request.
    const renewing = setInterval(() => void hold(), 100);
    const r = await runCli([
      ...operatorArgs(dbName, operatorConfig),
      'rebuild',
      EVENT_COUNTER_MODULE,
    ]).finally(() => clearInterval(renewing));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /Module event-counter: instance old-projectord kept renewing its lease for \d+ s after the rebuild asked it to hand the module over .* Stop that instance/,
    );
    expect((await leasesColl.findOne({ _id: EVENT_COUNTER_MODULE }))?.handover).toBeUndefined();
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
    expect(names.filter((n) => n.includes('__rebuild'))).toEqual([]);
    const cpAfter = await checkpoints.findOne({ _id: EVENT_COUNTER_MODULE });
    for (const field of ['mode', 'moduleVersion', 'token', 'clusterTime']) {
      expect(cpAfter?.[field as keyof typeof cpAfter]).toEqual(
        cpBefore?.[field as keyof typeof cpBefore],
      );
    }
    expect(await view().find({}).sort({ _id: 1 }).toArray()).toEqual(viewBefore);
  });
});
