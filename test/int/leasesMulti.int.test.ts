import { join } from 'node:path';
import type { Db } from 'mongodb';
import { beforeAll, describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import { packageRoot } from '../../src/lib/paths.js';
import { EVENT_COUNTER_MODULE } from '../../src/modules/testing/eventCounter.js';
import {
  eventCounterModulePath,
  readCheckpoint,
  useDaemons,
  type Daemon,
} from '../helpers/daemon.js';
import { startLeaseWatch, type LeaseWatch } from '../helpers/leaseWatch.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';
import { storedCounterTotal, waitForConvergence } from '../helpers/recompute.js';
import { startWorkload, testSeed, type WorkloadResult } from '../helpers/workload.js';

/**
 * One owner per module across instances (DESIGN.md invariant 11), with real `projectord run`
 * processes (distinct instance ids, 3 s leases, 500 ms heartbeats) sharing one database and two
 * modules: the built-in event-counter and a second counter (test/fixtures/modules/multi).
 * While events are appended, a sampler (test/helpers/leaseWatch.ts) checks that every module has
 * one live owner and that no other instance moves its checkpoint; owners are SIGKILLed (another
 * instance must take over within the lease time) or SIGTERMed (the lease is released: the
 * takeover comes before the old lease would even have expired); both read models must end
 * exactly as recomputed from event_store — nothing lost, nothing applied twice.
 */
const seed = testSeed();
const TTL_MS = 3000;
// A dead owner's lease expires within TTL_MS of its last heartbeat; the next heartbeat (500 ms)
// of a standby takes it. The rest is slack for a loaded 2-core machine.
const TAKEOVER_BOUND_MS = TTL_MS + 3000;
const COUNTER_B = 'event-counter-b';
const MODULES = [EVENT_COUNTER_MODULE, COUNTER_B] as const;
const counterBPath = () =>
  join(packageRoot(), 'test', 'fixtures', 'modules', 'multi', 'event-counter-b.mjs');

interface Instance {
  id: string;
  daemon: Daemon;
}

/** The second counter's differences: count per aggregate = its last version, total = events. */
async function diffCounterB(db: Db, written: WorkloadResult): Promise<string[]> {
  const docs = await db
    .collection<{ _id: string; count?: number }>('event_counter_b_view')
    .find({})
    .toArray();
  const diffs: string[] = [];
  const seen = new Set<string>();
  for (const d of docs) {
    seen.add(d._id);
    const want = written.versions.get(d._id);
    if (d.count !== want)
      diffs.push(`${d._id}: expected ${String(want)}, stored ${String(d.count)}`);
  }
  for (const [id, v] of written.versions)
    if (!seen.has(id)) diffs.push(`${id}: expected ${v}, stored none`);
  const total = await db
    .collection<{ _id: string; events?: number }>('event_counter_b_totals')
    .findOne({ _id: 'all' });
  if (total?.events !== written.events)
    diffs.push(`total: expected ${written.events}, stored ${String(total?.events)}`);
  return diffs;
}

describe('leases across instances', () => {
  const daemons = useDaemons();
  const dbs: { db: Db; dbName: string }[] = [];
  beforeAll(async () => {
    dbs.push(await useTestDb('leases_kill'), await useTestDb('leases_term'));
  });
  let db: Db;
  let dbName: string;

  function setup(name: string, dbIndex: number, enabled: Record<string, readonly string[]>) {
    const picked = dbs[dbIndex];
    if (!picked) throw new Error('no test database');
    ({ db, dbName } = picked);
    const instances: Instance[] = Object.entries(enabled).map(([id, modules]) => ({
      id,
      daemon: daemons.create({
        mongoUri: mongoUri(),
        dbName,
        config: {
          instanceId: id,
          modules: { paths: [eventCounterModulePath(), counterBPath()], enabled: [...modules] },
        },
      }),
    }));
    const live = () => new Set(instances.filter((i) => i.daemon.running).map((i) => i.id));
    const byId = (id: string): Instance => {
      const found = instances.find((i) => i.id === id);
      if (!found) throw new Error(`no instance ${id}`);
      return found;
    };
    onTestFailed(() => {
      console.error(`[leasesMulti] ${name}: seed=${seed} (PROJECTORD_TEST_SEED=${seed} to repeat)`);
      for (const i of instances)
        console.error(`[leasesMulti] ${i.id} output:\n${i.daemon.output()}`);
    });
    return { instances, live, byId };
  }

  function watch(live: () => ReadonlySet<string>): LeaseWatch {
    const w = startLeaseWatch(db, { modules: MODULES, live, maxOrphanMs: TAKEOVER_BOUND_MS });
    onTestFinished(async () => {
      await w.stop();
    });
    return w;
  }

  async function converge(written: WorkloadResult, check: () => void): Promise<void> {
    await waitForConvergence(db, { timeoutMs: 30_000, check, context: `seed ${seed}` });
    expect(await storedCounterTotal(db)).toBe(written.events);
    // Both modules were applied side by side: the second one needs little extra time.
    const deadline = Date.now() + 15_000;
    let diffs = await diffCounterB(db, written);
    while (diffs.length > 0 && Date.now() < deadline) {
      check();
      await new Promise((r) => setTimeout(r, 250));
      diffs = await diffCounterB(db, written);
    }
    expect(diffs.slice(0, 10), `${COUNTER_B} differences (seed ${seed})`).toEqual([]);
  }

  it('two instances: kill -9 of the owner → the other takes over within the lease time', async () => {
    const { live, byId } = setup('kill -9', 0, { a: MODULES, b: MODULES });
    console.log(`[leasesMulti] seed=${seed}`);
    const workload = startWorkload(db, {
      events: 1200,
      aggregates: 20,
      seed,
      aggregatePrefix: 'kill',
      batchSize: 20,
      eventsPerSecond: 200,
    });
    onTestFinished(async () => {
      await workload.stop().catch(() => undefined);
    });
    await byId('a').daemon.start();
    await byId('b').daemon.start();
    const w = watch(live);
    const first = await w.waitForOwner(
      EVENT_COUNTER_MODULE,
      (s) => live().has(s.owner),
      20_000,
      'a first owner',
    );
    await w.waitForOwner(
      COUNTER_B,
      (s) => live().has(s.owner),
      10_000,
      `a first ${COUNTER_B} owner`,
    );
    await waitFor(async () => (await storedCounterTotal(db)) > 0, {
      timeoutMs: 20_000,
      what: 'first events applied',
    });

    const victim = byId(first.owner);
    victim.daemon.kill('SIGKILL');
    const killedAt = Date.now();
    expect((await victim.daemon.waitForExit(10_000)).signal).toBe('SIGKILL');
    const next = await w.waitForOwner(
      EVENT_COUNTER_MODULE,
      (s) => s.owner !== victim.id && live().has(s.owner),
      TAKEOVER_BOUND_MS + 2000,
      'a takeover after kill -9',
    );
    const takeoverMs = next.seenAt - killedAt;
    console.log(
      `[leasesMulti] kill -9 of ${victim.id}: ${next.owner} took over after ${takeoverMs} ms`,
    );
    expect(next.fence).toBeGreaterThan(first.fence);
    expect(takeoverMs).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);

    // The killed instance comes back as a standby: the lease stays where it is.
    await victim.daemon.start();
    const written = await workload.done;
    await converge(written, () => {
      for (const id of ['a', 'b']) byId(id).daemon.assertRunning();
    });
    const owner = w.current(EVENT_COUNTER_MODULE);
    expect(owner).toMatchObject({ owner: next.owner, fence: next.fence });
    expect(await w.stop()).toEqual([]);
  });

  it('three instances, split ownership: SIGTERM releases at once; kill -9 is taken over', async () => {
    // a runs only event-counter, b only event-counter-b, c both: c stands by for either.
    const { live, byId } = setup('SIGTERM', 1, {
      a: [EVENT_COUNTER_MODULE],
      b: [COUNTER_B],
      c: MODULES,
    });
    const workload = startWorkload(db, {
      events: 1200,
      aggregates: 20,
      seed: seed + 1,
      aggregatePrefix: 'term',
      batchSize: 20,
      eventsPerSecond: 200,
    });
    onTestFinished(async () => {
      await workload.stop().catch(() => undefined);
    });
    await byId('a').daemon.start();
    await byId('b').daemon.start();
    const w = watch(live);
    await w.waitForOwner(
      EVENT_COUNTER_MODULE,
      (s) => s.owner === 'a',
      20_000,
      'a to own event-counter',
    );
    await w.waitForOwner(COUNTER_B, (s) => s.owner === 'b', 20_000, `b to own ${COUNTER_B}`);
    await byId('c').daemon.start();
    await waitFor(async () => (await storedCounterTotal(db)) > 0, {
      timeoutMs: 20_000,
      what: 'first events applied',
    });

    byId('a').daemon.kill('SIGTERM');
    expect(await byId('a').daemon.waitForExit(15_000)).toEqual({ code: 0, signal: null });
    const exitedAt = Date.now();
    const toC = await w.waitForOwner(
      EVENT_COUNTER_MODULE,
      (s) => s.owner === 'c',
      TAKEOVER_BOUND_MS,
      'c to take event-counter',
    );
    console.log(
      `[leasesMulti] SIGTERM of a: c took over ${toC.seenAt - exitedAt} ms after its exit`,
    );
    // Released, not expired: a's lease was seen released, or c held it before a's last renewal
    // would have run out (the release and the takeover can both fall between two samples).
    expect(toC.previous?.owner).toBe('a');
    const released = w.releases(EVENT_COUNTER_MODULE).some((r) => r.owner === 'a');
    expect(
      released || toC.since < (toC.previous?.expiresAt ?? 0),
      `a's lease released (samples: ${JSON.stringify(w.releases(EVENT_COUNTER_MODULE))}) or taken over at ${toC.since} before its expiry ${String(toC.previous?.expiresAt)}`,
    ).toBe(true);

    byId('b').daemon.kill('SIGKILL');
    const killedAt = Date.now();
    await byId('b').daemon.waitForExit(10_000);
    const bToC = await w.waitForOwner(
      COUNTER_B,
      (s) => s.owner === 'c',
      TAKEOVER_BOUND_MS + 2000,
      `c to take ${COUNTER_B}`,
    );
    console.log(`[leasesMulti] kill -9 of b: c took over after ${bToC.seenAt - killedAt} ms`);
    expect(bToC.seenAt - killedAt).toBeLessThanOrEqual(TAKEOVER_BOUND_MS);

    const written = await workload.done;
    await converge(written, () => byId('c').daemon.assertRunning());
    // Who saved each checkpoint when is the watch's "writer" rule; here: one exists per module.
    for (const m of MODULES) expect(await readCheckpoint(db, m)).not.toBeNull();
    expect(await w.stop()).toEqual([]);
  });
});
