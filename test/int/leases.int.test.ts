import type { Db } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ProjectordError } from '../../src/lib/errors.js';
import { createLeaseKeeper } from '../../src/leases/leaseKeeper.js';
import {
  createLeaseManager,
  LEASES_COLLECTION,
  type Lease,
  type LeaseDocument,
} from '../../src/leases/leaseManager.js';
import { silentLogger } from '../../src/observability/logger.js';
import { clockedLeaseManager as instance, LEASE_MARGIN, LEASE_TTL } from '../helpers/leaseClock.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';

/** Invariant 11 against the run's MongoDB; every instance has a clock of its own. */
const TTL = LEASE_TTL;
const MARGIN = LEASE_MARGIN;

describe('lease manager', () => {
  let db: Db;
  let n = 0;
  const moduleName = () => `module-${++n}`;
  const doc = (m: string) => db.collection<LeaseDocument>(LEASES_COLLECTION).findOne({ _id: m });
  beforeAll(async () => {
    ({ db } = await useTestDb('leases'));
  });

  it('gives a free module to exactly one of three racing instances', async () => {
    const m = moduleName();
    const all = [instance(db, 'a'), instance(db, 'b'), instance(db, 'c')];
    const leases = await Promise.all(all.map((i) => i.manager.acquire(m)));
    const winners = leases.filter((l): l is Lease => l !== null);
    expect(winners).toHaveLength(1);
    expect(winners[0]?.fence).toBe(1);
    expect(await doc(m)).toMatchObject({ owner: winners[0]?.owner, fence: 1 });
    // The losers keep losing while the lease is live.
    const retry = await Promise.all(all.map((i) => i.manager.acquire(m)));
    expect(retry.filter((l) => l !== null && l.owner !== winners[0]?.owner)).toEqual([]);
  });

  it('another instance takes over only after expiry, with a larger fence', async () => {
    const m = moduleName();
    const a = instance(db, 'a');
    const b = instance(db, 'b');
    const la = await a.manager.acquire(m);
    expect(la).not.toBeNull();
    b.advance(TTL - 1);
    expect(await b.manager.acquire(m)).toBeNull();
    b.advance(2);
    const lb = await b.manager.acquire(m);
    expect(lb).toMatchObject({ owner: 'b', fence: 2 });
    expect(await doc(m)).toMatchObject({ owner: 'b', fence: 2 });
  });

  it("an old owner's renew fails after a takeover and its lease turns invalid", async () => {
    const m = moduleName();
    const a = instance(db, 'a');
    const b = instance(db, 'b');
    const la = (await a.manager.acquire(m)) as Lease;
    b.advance(TTL + 1);
    expect(await b.manager.acquire(m)).not.toBeNull();
    // `a` was paused: by its own clock the lease would still be valid, but renew tells the truth.
    expect(a.manager.isValid(la)).toBe(true);
    expect(await a.manager.renew(la)).toBe(false);
    expect(a.manager.isValid(la)).toBe(false);
    expect(await doc(m)).toMatchObject({ owner: 'b', fence: 2 });
  });

  it('is valid locally only until expiresAt minus the safety margin', async () => {
    const m = moduleName();
    const a = instance(db, 'a');
    const la = (await a.manager.acquire(m)) as Lease;
    expect(la.expiresAt).toEqual(a.at(TTL));
    expect(a.manager.isValid(la, a.at(TTL - MARGIN - 1))).toBe(true);
    expect(a.manager.isValid(la, a.at(TTL - MARGIN))).toBe(false);
    expect(a.manager.isValid(la, a.at(TTL + 5_000))).toBe(false);
    // An owner that wakes up after expiry sees an invalid lease without asking the database.
    a.advance(TTL + 5_000);
    expect(a.manager.isValid(la)).toBe(false);
  });

  it('renew moves the expiry forward, so nobody can take over', async () => {
    const m = moduleName();
    const a = instance(db, 'a');
    const b = instance(db, 'b');
    const la = (await a.manager.acquire(m)) as Lease;
    a.advance(TTL / 2);
    expect(await a.manager.renew(la)).toBe(true);
    expect(la.expiresAt).toEqual(a.at(TTL / 2 + TTL));
    b.advance(TTL + 1);
    expect(await b.manager.acquire(m)).toBeNull();
    expect(await doc(m)).toMatchObject({ owner: 'a', fence: 1, heartbeatAt: a.at(TTL / 2) });
  });

  it('a renew after expiry succeeds when nobody took over (same fence, nothing lost)', async () => {
    const m = moduleName();
    const a = instance(db, 'a');
    const la = (await a.manager.acquire(m)) as Lease;
    a.advance(TTL + 1);
    expect(a.manager.isValid(la)).toBe(false);
    expect(await a.manager.renew(la)).toBe(true);
    expect(a.manager.isValid(la)).toBe(true);
    expect(la.fence).toBe(1);
  });

  it('release frees the module at once and invalidates the lease', async () => {
    const m = moduleName();
    const a = instance(db, 'a');
    const b = instance(db, 'b');
    const la = (await a.manager.acquire(m)) as Lease;
    await a.manager.release(la);
    expect(a.manager.isValid(la)).toBe(false);
    const lb = await b.manager.acquire(m);
    expect(lb).toMatchObject({ owner: 'b', fence: 2 });
    expect(await a.manager.renew(la)).toBe(false);
  });

  it('a restarted instance with the same id gets its module back at once, with a new fence', async () => {
    const m = moduleName();
    const first = instance(db, 'a');
    const old = (await first.manager.acquire(m)) as Lease;
    const restarted = instance(db, 'a');
    const again = await restarted.manager.acquire(m);
    expect(again).toMatchObject({ owner: 'a', fence: 2 });
    expect(await first.manager.renew(old)).toBe(false);
  });

  it('rejects lease timings where one slow heartbeat would lose the lease (exit 2)', () => {
    const make = (ttlMs: number, heartbeatMs: number) => () =>
      createLeaseManager({ db, instanceId: 'a', ttlMs, heartbeatMs, logger: silentLogger() });
    expect(make(15_000, 5_000)).not.toThrow();
    for (const [ttl, hb] of [
      [15_000, 7_000],
      [0, 100],
      [15_000, -1],
      [Number.NaN, 100],
    ] as const) {
      const err = (() => {
        try {
          make(ttl, hb)();
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err, `${ttl}/${hb}`).toBeInstanceOf(ProjectordError);
      expect((err as ProjectordError).exitCode).toBe(2);
      expect((err as ProjectordError).message).toMatch(/leases\.(ttlMs|heartbeatMs)/);
    }
  });

  it('rejects an empty instance id and an empty module name', async () => {
    expect(() =>
      createLeaseManager({
        db,
        instanceId: ' ',
        ttlMs: TTL,
        heartbeatMs: 1000,
        logger: silentLogger(),
      }),
    ).toThrow(/instance-id/);
    await expect(instance(db, 'a').manager.acquire('')).rejects.toThrow(/empty/);
  });
});

describe('lease keeper', () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await useTestDb('keeper'));
  });

  function keeper(i: ReturnType<typeof instance>, modules: string[]) {
    const events: string[] = [];
    const k = createLeaseKeeper({
      manager: i.manager,
      modules,
      heartbeatMs: 3_000,
      onAcquired: (m, lease) => void events.push(`+${m}#${lease.fence}`),
      onLost: (m) => void events.push(`-${m}`),
      logger: silentLogger(),
    });
    return { k, events };
  }

  it('splits nothing twice: one keeper owns, the other waits, then takes over after expiry', async () => {
    const a = instance(db, 'a');
    const b = instance(db, 'b');
    const ka = keeper(a, ['x1', 'x2']);
    const kb = keeper(b, ['x1', 'x2']);
    await ka.k.tick();
    await kb.k.tick();
    expect(ka.events).toEqual(['+x1#1', '+x2#1']);
    expect(kb.events).toEqual([]);

    // `a` keeps heartbeating while time passes: still the owner.
    a.advance(5_000);
    b.advance(5_000);
    await ka.k.tick();
    b.advance(TTL - 4_000);
    await kb.k.tick();
    expect(kb.events).toEqual([]);

    // `a` stalls; `b` takes over after the expiry; `a` finds out on its next heartbeat.
    b.advance(TTL);
    await kb.k.tick();
    expect(kb.events).toEqual(['+x1#2', '+x2#2']);
    a.advance(TTL * 2);
    await ka.k.tick();
    expect(ka.events).toEqual(['+x1#1', '+x2#1', '-x1', '-x2']);
    expect([...ka.k.owned().keys()]).toEqual([]);

    // `b` stops gracefully: released, so `a` gets them back on its next tick.
    await kb.k.stop();
    await ka.k.tick();
    expect(ka.events.slice(-2)).toEqual(['+x1#3', '+x2#3']);
    await ka.k.stop();
  });

  it('runs on its own once started and releases on stop', async () => {
    const manager = createLeaseManager({
      db,
      instanceId: 'looper',
      ttlMs: 1_000,
      heartbeatMs: 100,
      logger: silentLogger(),
    });
    const acquired: string[] = [];
    const k = createLeaseKeeper({
      manager,
      modules: ['loop-1'],
      heartbeatMs: 20,
      onAcquired: (m) => void acquired.push(m),
      onLost: () => undefined,
      logger: silentLogger(),
    });
    k.start();
    k.start();
    await waitFor(() => acquired.length > 0, { what: 'the keeper to acquire loop-1' });
    const lease = k.owned().get('loop-1') as Lease;
    const firstBeat = lease.heartbeatAt.getTime();
    await waitFor(() => lease.heartbeatAt.getTime() > firstBeat, { what: 'a heartbeat' });
    await Promise.all([k.stop(), k.stop()]);
    expect(acquired).toEqual(['loop-1']);
    const stored = await db.collection<LeaseDocument>(LEASES_COLLECTION).findOne({ _id: 'loop-1' });
    expect(stored?.expiresAt.getTime()).toBe(0);
  });
});
