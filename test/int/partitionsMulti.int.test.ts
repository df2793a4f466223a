import { join } from 'node:path';
import type { Db } from 'mongodb';
import { beforeAll, describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import { LEASES_COLLECTION, type LeaseDocument } from '../../src/leases/leaseManager.js';
import { packageRoot } from '../../src/lib/paths.js';
import { partitionOf } from '../../src/partitions/hash.js';
import { INSTANCES_COLLECTION } from '../../src/partitions/membership.js';
import { slotsOf } from '../../src/partitions/slots.js';
import { operatorArgs, runCli } from '../helpers/cli.js';
import { daemonConfig, useDaemons, type Daemon } from '../helpers/daemon.js';
import { startLeaseWatch } from '../helpers/leaseWatch.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';
import { startWorkload, testSeed, type WorkloadResult } from '../helpers/workload.js';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';

/**
 * One module split into 8 partitions over real `projectord run` processes (DESIGN.md
 * "Partitions"; 3 s leases, 500 ms heartbeats), under a steady stream of events:
 *  - 3 instances: every partition runs somewhere, none holds more than ⌈8/3⌉ = 3;
 *  - one SIGKILLed: its partitions move to the two left within the lease time, ≤ 4 each;
 *  - a fourth started: the partitions rebalance to 2 each, the others' partitions not moving;
 *  - throughout: one owner per partition with growing fences (test/helpers/leaseWatch.ts), and
 *    no partition ever ran on two instances at once: the module (test/fixtures/modules/
 *    partitions/partition-audit.mjs) stamps every event's log entry with its partition, the
 *    fencing token it ran under and the time, so per partition the entries of one fence must all
 *    come before those of any later fence, and per aggregate the fences never go back;
 *  - at quiet points and at the end: every event applied exactly once (counts equal versions,
 *    one log entry per event) and `projectord verify` clean.
 */
const seed = testSeed();
const MODULE = 'partition-audit';
const N = 8;
const SLOTS = slotsOf(MODULE, N).map((s) => s.name);
const TTL_MS = 3000;
// A dead owner's leases expire within TTL_MS of its last heartbeat; the next rounds (500 ms, a
// quarter of it while waiting) take them. The rest is slack for a loaded 2-core machine.
const MOVE_BOUND_MS = TTL_MS + 3000;
const auditModulePath = () =>
  join(packageRoot(), 'test', 'fixtures', 'modules', 'partitions', 'partition-audit.mjs');
// Four daemon starts, two quiet points each with a verify, on a shared 2-core machine.
const SCENARIO_TIMEOUT_MS = 240_000;
const moduleConfig = (partitions: unknown = N) => ({
  paths: [auditModulePath()],
  partitions: { [MODULE]: partitions },
  settings: { [MODULE]: { delayMs: 2 } },
});

interface LogEntry {
  _id: string;
  aggregateId: string;
  version: number;
  partition: number;
  fence: number;
  pid: number;
  at: Date;
}

/** Live lease holders now: instance → its slots. */
async function owners(db: Db): Promise<Map<string, string[]>> {
  const leases = await db
    .collection<LeaseDocument>(LEASES_COLLECTION)
    .find({ _id: { $in: SLOTS } })
    .toArray();
  const now = Date.now();
  const out = new Map<string, string[]>();
  for (const l of leases) {
    if (l.expiresAt.getTime() <= now) continue;
    out.set(l.owner, [...(out.get(l.owner) ?? []), l._id]);
  }
  return out;
}

/** Waits until every slot has a live owner among `live`, each holding `min`…`max` slots. */
async function waitForSpread(
  db: Db,
  live: readonly string[],
  min: number,
  max: number,
  timeoutMs: number,
  what: string,
): Promise<{ ms: number; spread: Map<string, string[]> }> {
  const from = Date.now();
  const spread = await waitFor(
    async () => {
      const o = await owners(db);
      const counts = live.map((id) => o.get(id)?.length ?? 0);
      const covered = live.reduce((n, id) => n + (o.get(id)?.length ?? 0), 0) === N;
      return covered && counts.every((n) => n >= min && n <= max) ? o : undefined;
    },
    { timeoutMs, intervalMs: 50, what },
  );
  return { ms: Date.now() - from, spread };
}

/** Every difference between what was written and the module's view and log. */
async function differences(db: Db, written: Map<string, number>, events: number) {
  const diffs: string[] = [];
  const views = await db
    .collection<{ _id: string; count: number; partition: number }>('partition_audit_view')
    .find({})
    .toArray();
  const byId = new Map(views.map((v) => [v._id, v]));
  for (const [id, version] of written) {
    const v = byId.get(id);
    if (v?.count !== version) diffs.push(`${id}: count ${String(v?.count)}, written ${version}`);
    if (v && v.partition !== partitionOf(id, N)) diffs.push(`${id}: partition ${v.partition}`);
  }
  const logged = await db.collection('partition_audit_log').countDocuments();
  if (logged !== events) diffs.push(`log holds ${logged} entries for ${events} events`);
  return diffs;
}

/** Breaches of "one partition, one instance at a time", read from the log's stamps. */
function overlaps(log: readonly LogEntry[]): string[] {
  const found: string[] = [];
  const spans = new Map<string, { min: number; max: number; pid: number }>();
  for (const e of log) {
    if (e.partition !== partitionOf(e.aggregateId, N))
      found.push(`${e._id} ran in partition ${e.partition}`);
    const k = `${e.partition}/${e.fence}`;
    const s = spans.get(k);
    const t = e.at.getTime();
    if (!s) spans.set(k, { min: t, max: t, pid: e.pid });
    else {
      s.min = Math.min(s.min, t);
      s.max = Math.max(s.max, t);
      if (s.pid !== e.pid) found.push(`partition ${k}: two processes under one fence`);
    }
  }
  for (let p = 0; p < N; p++) {
    const fences = [...spans]
      .filter(([k]) => k.startsWith(`${p}/`))
      .map(([k, s]) => ({ fence: Number(k.split('/')[1]), ...s }))
      .sort((a, b) => a.fence - b.fence);
    for (let i = 1; i < fences.length; i++) {
      const [a, b] = [fences[i - 1]!, fences[i]!];
      if (a.max >= b.min)
        found.push(
          `partition ${p}: fence ${a.fence} ran until ${a.max}, fence ${b.fence} from ${b.min}`,
        );
    }
  }
  const byAggregate = new Map<string, LogEntry[]>();
  for (const e of log)
    byAggregate.set(e.aggregateId, [...(byAggregate.get(e.aggregateId) ?? []), e]);
  for (const [id, entries] of byAggregate) {
    entries.sort((a, b) => a.version - b.version);
    for (let i = 1; i < entries.length; i++) {
      if (entries[i]!.fence < entries[i - 1]!.fence)
        found.push(
          `${id} v${entries[i]!.version}: fence ${entries[i]!.fence} after ${entries[i - 1]!.fence}`,
        );
    }
  }
  return found;
}

describe('partitions across instances', () => {
  const daemons = useDaemons();
  let db: Db;
  let dbName: string;
  let configFile: string;
  beforeAll(async () => {
    ({ db, dbName } = await useTestDb('partitions_multi'));
    configFile = join(mkdtempSync(join(tmpdir(), 'projectord-partitions-')), 'verify.json');
    writeFileSync(configFile, JSON.stringify({ modules: moduleConfig() }));
  });

  it(
    '3 instances, SIGKILL of one, a fourth joining: partitions move, never run twice at once',
    async () => {
      const instances = new Map<string, Daemon>();
      const create = (id: string) => {
        const d = daemons.create({
          mongoUri: mongoUri(),
          dbName,
          config: { instanceId: id, modules: moduleConfig() },
          logLevel: 'info',
        });
        instances.set(id, d);
        return d;
      };
      const live = () => new Set([...instances].filter(([, d]) => d.running).map(([id]) => id));
      onTestFailed(() => {
        console.error(`[partitions] seed=${seed} (PROJECTORD_TEST_SEED=${seed} to repeat)`);
        for (const [id, d] of instances) console.error(`[partitions] ${id}:\n${d.output()}`);
      });
      const watch = startLeaseWatch(db, { modules: SLOTS, live, maxOrphanMs: MOVE_BOUND_MS });
      onTestFinished(async () => {
        await watch.stop();
      });
      const written = new Map<string, number>();
      let events = 0;
      const phase = (prefix: string, offset: number) => {
        const w = startWorkload(db, {
          events: 100_000,
          aggregates: 40,
          seed: seed + offset,
          aggregatePrefix: prefix,
          batchSize: 10,
          eventsPerSecond: 120,
        });
        onTestFinished(async () => {
          await w.stop().catch(() => undefined);
        });
        return async (): Promise<WorkloadResult> => {
          const r = await w.stop();
          for (const [id, v] of r.versions) written.set(id, v);
          events += r.events;
          return r;
        };
      };
      const quiet = async (what: string) => {
        await waitFor(async () => (await differences(db, written, events)).length === 0, {
          timeoutMs: 60_000,
          intervalMs: 250,
          what: `${what}: every event applied once (seed ${seed}); last: ${(await differences(db, written, events)).slice(0, 5).join('; ')}`,
        });
        const verify = await runCli(['verify', MODULE, ...operatorArgs(dbName, configFile)]);
        expect(verify.code, `${what}: projectord verify\n${verify.out}${verify.err}`).toBe(0);
      };

      const endFirst = phase('p1', 1);
      for (const id of ['a', 'b', 'c']) await create(id).start();
      const three = await waitForSpread(db, ['a', 'b', 'c'], 2, 3, 30_000, '8 partitions over 3');
      console.log(`[partitions] 3 instances: ${JSON.stringify([...three.spread])}`);

      const victim = 'b';
      const victimSlots = three.spread.get(victim) ?? [];
      instances.get(victim)!.kill('SIGKILL');
      expect((await instances.get(victim)!.waitForExit(10_000)).signal).toBe('SIGKILL');
      const afterKill = await waitForSpread(db, ['a', 'c'], 4, 4, MOVE_BOUND_MS + 4000, 'takeover');
      console.log(
        `[partitions] SIGKILL of ${victim} (${victimSlots.join(',')}): moved in ${afterKill.ms} ms`,
      );
      expect(afterKill.ms).toBeLessThanOrEqual(MOVE_BOUND_MS);
      await endFirst();
      await quiet('after the kill');

      const endSecond = phase('p2', 2);
      const before = await owners(db);
      await create('d').start();
      // From d's announcement: starting a Node process on a loaded machine is not the rebalance.
      await waitFor(() => db.collection(INSTANCES_COLLECTION).findOne({ _id: 'd' as never }), {
        timeoutMs: 30_000,
        intervalMs: 20,
        what: 'd announced in projector_instances',
      });
      const joined = await waitForSpread(db, ['a', 'c', 'd'], 2, 3, 30_000, 'rebalance on join');
      console.log(
        `[partitions] d joined: rebalanced ${joined.ms} ms after it announced itself: ${JSON.stringify([...joined.spread])}`,
      );
      // Cooperative: what a and c still hold after the join, they held before it.
      for (const id of ['a', 'c'])
        for (const slot of joined.spread.get(id) ?? []) expect(before.get(id)).toContain(slot);
      await endSecond();
      await quiet('after the join');

      for (const id of ['a', 'c', 'd']) instances.get(id)!.kill('SIGTERM');
      for (const id of ['a', 'c', 'd'])
        expect(await instances.get(id)!.waitForExit(30_000)).toEqual({ code: 0, signal: null });
      expect(await watch.stop()).toEqual([]);
      const log = await db.collection<LogEntry>('partition_audit_log').find({}).toArray();
      // Partitions did change hands (each partition's lease counts its own fences).
      expect(new Set(log.map((e) => `${e.partition}/${e.fence}`)).size).toBeGreaterThan(N);
      expect(overlaps(log)).toEqual([]);
    },
    SCENARIO_TIMEOUT_MS,
  );

  it.each([
    ['0', 0],
    ['negative', -1],
    ['not whole', 1.5],
  ])('exits 2 naming the key for modules.partitions %s', async (_what, value) => {
    const d = daemons.create({
      mongoUri: mongoUri(),
      dbName,
      config: { ...daemonConfig(), modules: moduleConfig(value) },
    });
    await d.start();
    expect((await d.waitForExit(20_000)).code).toBe(2);
    expect(d.output()).toContain(`modules.partitions.${MODULE}`);
  });

  it('exits 2 naming the key for modules.partitions of an unknown module', async () => {
    const d = daemons.create({
      mongoUri: mongoUri(),
      dbName,
      config: { modules: { paths: [auditModulePath()], partitions: { 'partition-audt': 4 } } },
    });
    await d.start();
    expect((await d.waitForExit(20_000)).code).toBe(2);
    expect(d.output()).toContain('modules.partitions.partition-audt');
  });
});
