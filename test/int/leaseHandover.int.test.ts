import type { Db } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { takeOverLease } from '../../src/leases/handover.js';
import {
  createLeaseManager,
  LEASES_COLLECTION,
  type Lease,
  type LeaseDocument,
} from '../../src/leases/leaseManager.js';
import { ProjectordError } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/observability/logger.js';
import { clockedLeaseManager as instance, LEASE_T0, LEASE_TTL } from '../helpers/leaseClock.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';

/**
 * The handover request of the lease protocol (leaseManager.ts, handover.ts) against the run's
 * MongoDB. The manager tests give every instance a clock of its own and move it by hand; the
 * takeOverLease tests use real time with a short lease.
 */
const TTL = LEASE_TTL;
const T0 = LEASE_T0;

describe('lease handover request', () => {
  let db: Db;
  let n = 0;
  const moduleName = () => `module-${++n}`;
  const doc = (m: string) => db.collection<LeaseDocument>(LEASES_COLLECTION).findOne({ _id: m });
  beforeAll(async () => {
    ({ db } = await useTestDb('handover'));
  });

  it("blocks other acquirers and the owner's renew; the target acquires once expired", async () => {
    const m = moduleName();
    const owner = instance(db, 'daemon-a');
    const other = instance(db, 'daemon-b');
    const rebuild = instance(db, 'rebuild');
    const la = (await owner.manager.acquire(m)) as Lease;
    expect(await rebuild.manager.requestHandover(m)).toMatchObject({
      ok: true,
      lease: { owner: 'daemon-a', fence: 1, handover: { to: 'rebuild' } },
    });
    // The owner's renew no longer matches: its lease is lost locally at once.
    owner.advance(1_000);
    expect(await owner.manager.renew(la)).toBe(false);
    expect(owner.manager.isValid(la)).toBe(false);
    // Nobody but the target can acquire, not even the old owner (restarted or not).
    expect(await owner.manager.acquire(m)).toBeNull();
    // Still live by the database's expiresAt: the target waits too.
    rebuild.advance(TTL - 1);
    expect(await rebuild.manager.acquire(m)).toBeNull();
    other.advance(TTL + 1);
    expect(await other.manager.acquire(m)).toBeNull();
    owner.advance(TTL);
    expect(await owner.manager.acquire(m)).toBeNull();
    rebuild.advance(2);
    const lr = await rebuild.manager.acquire(m);
    expect(lr).toMatchObject({ owner: 'rebuild', fence: 2 });
    const stored = await doc(m);
    expect(stored).toMatchObject({ owner: 'rebuild', fence: 2 });
    expect(stored?.handover).toBeUndefined();
    // Held, renewed, released: the normal protocol again, fences still rising.
    expect(await rebuild.manager.renew(lr as Lease)).toBe(true);
    await rebuild.manager.release(lr as Lease);
    expect(await owner.manager.acquire(m)).toMatchObject({ owner: 'daemon-a', fence: 3 });
  });

  it('a withdrawn request restores the normal protocol', async () => {
    const m = moduleName();
    const owner = instance(db, 'daemon-a');
    const other = instance(db, 'daemon-b');
    const rebuild = instance(db, 'rebuild');
    const la = (await owner.manager.acquire(m)) as Lease;
    expect((await rebuild.manager.requestHandover(m)).ok).toBe(true);
    await rebuild.manager.withdrawHandover(m);
    expect((await doc(m))?.handover).toBeUndefined();
    owner.advance(5_000);
    expect(await owner.manager.renew(la)).toBe(true);
    other.advance(TTL + 1);
    expect(await other.manager.acquire(m)).toBeNull();
    // Withdrawing is addressed: it never clears another instance's request.
    expect((await other.manager.requestHandover(m)).ok).toBe(true);
    await rebuild.manager.withdrawHandover(m);
    expect((await doc(m))?.handover).toMatchObject({ to: 'daemon-b' });
  });

  it("refuses a second request while one is pending, naming the other's target", async () => {
    const m = moduleName();
    const owner = instance(db, 'daemon-a');
    await owner.manager.acquire(m);
    expect((await instance(db, 'rebuild-1').manager.requestHandover(m)).ok).toBe(true);
    const second = instance(db, 'rebuild-2');
    expect(await second.manager.requestHandover(m)).toMatchObject({
      ok: false,
      pendingFor: 'rebuild-1',
      until: new Date(T0 + 2 * TTL),
    });
  });

  it('a request left behind lapses after twice the ttl: the module is not blocked for good', async () => {
    const m = moduleName();
    const owner = instance(db, 'daemon-a');
    const other = instance(db, 'daemon-b');
    await owner.manager.acquire(m);
    expect((await instance(db, 'crashed-rebuild').manager.requestHandover(m)).ok).toBe(true);
    other.advance(2 * TTL - 1);
    expect(await other.manager.acquire(m)).toBeNull();
    other.advance(2);
    expect(await other.manager.acquire(m)).toMatchObject({ owner: 'daemon-b', fence: 2 });
    expect((await doc(m))?.handover).toBeUndefined();
  });

  it('creates the document for a module nobody leased yet; the target acquires at once', async () => {
    const m = moduleName();
    const rebuild = instance(db, 'rebuild');
    expect(
      await instance(db, 'daemon-a')
        .manager.acquire(m)
        .then(() => doc(m)),
    ).not.toBeNull();
    const fresh = moduleName();
    expect(await rebuild.manager.requestHandover(fresh)).toMatchObject({
      ok: true,
      lease: { owner: 'rebuild', fence: 0, expiresAt: new Date(0) },
    });
    expect(await instance(db, 'daemon-a').manager.acquire(fresh)).toBeNull();
    expect(await rebuild.manager.acquire(fresh)).toMatchObject({ owner: 'rebuild', fence: 1 });
  });

  it('rejects an empty module name', async () => {
    await expect(instance(db, 'a').manager.requestHandover('')).rejects.toThrow(/empty/);
  });
});

describe('takeOverLease', () => {
  let db: Db;
  let n = 0;
  const moduleName = () => `take-${++n}`;
  beforeAll(async () => {
    ({ db } = await useTestDb('takeover'));
  });
  const timing = { ttlMs: 1_000, heartbeatMs: 250 };
  const manager = (instanceId: string) =>
    createLeaseManager({ db, instanceId, ...timing, logger: silentLogger() });
  const take = (module: string) =>
    takeOverLease({
      manager: manager('rebuild'),
      instanceId: 'rebuild',
      module,
      ...timing,
      logger: silentLogger(),
    });

  it('waits for the owner to stop renewing, holds the lease while renewing it, releases', async () => {
    const m = moduleName();
    const owner = manager('daemon-a');
    const la = (await owner.acquire(m)) as Lease;
    const taking = take(m);
    // The owner keeps heartbeating as its keeper would, and soon finds the lease lost.
    await waitFor(async () => !(await owner.renew(la)), { what: 'the owner to lose its lease' });
    const held = await taking;
    held.assertHeld();
    const stored = () => db.collection<LeaseDocument>(LEASES_COLLECTION).findOne({ _id: m });
    const first = await stored();
    expect(first).toMatchObject({ owner: 'rebuild', fence: 2 });
    await waitFor(
      async () => ((await stored())?.heartbeatAt.getTime() ?? 0) > first!.heartbeatAt.getTime(),
      { what: 'a renewal of the held lease' },
    );
    await held.release();
    await held.release();
    expect((await stored())?.expiresAt.getTime()).toBe(0);
    expect(() => held.assertHeld()).toThrow(/lost the module's lease/);
    expect(await owner.acquire(m)).toMatchObject({ owner: 'daemon-a', fence: 3 });
  });

  it("outlasts an owner whose ttl is longer than the rebuild's (the request is renewed)", async () => {
    const m = moduleName();
    const owner = createLeaseManager({
      db,
      instanceId: 'daemon-long',
      ttlMs: 2_500,
      heartbeatMs: 250,
      logger: silentLogger(),
    });
    let current = await owner.acquire(m);
    // The owner's keeper: renew what it holds, else try to acquire (as after a lapsed request).
    const keeper = setInterval(() => {
      void (async () => {
        if (current && !(await owner.renew(current))) current = null;
        else if (!current) current = await owner.acquire(m);
      })();
    }, 250);
    try {
      const held = await take(m);
      held.assertHeld();
      expect(current).toBeNull();
      await held.release();
    } finally {
      clearInterval(keeper);
    }
  });

  it('gives up on an owner that keeps renewing, naming it, and withdraws the request', async () => {
    const m = moduleName();
    const leases = db.collection<LeaseDocument>(LEASES_COLLECTION);
    await manager('old-version').acquire(m);
    // An older projectord renews without looking at the request.
    const renewing = setInterval(() => {
      void leases.updateOne({ _id: m }, { $set: { expiresAt: new Date(Date.now() + 1_000) } });
    }, 100);
    try {
      const err = await take(m).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ProjectordError);
      expect((err as ProjectordError).code).toBe('HANDOVER_REFUSED');
      expect((err as Error).message).toMatch(
        /Module take-\d+: instance old-version kept renewing .* Stop that instance/,
      );
    } finally {
      clearInterval(renewing);
    }
    expect((await leases.findOne({ _id: m }))?.handover).toBeUndefined();
  });

  it('refuses while another rebuild waits for the module', async () => {
    const m = moduleName();
    await manager('daemon-a').acquire(m);
    expect((await manager('rebuild-other').requestHandover(m)).ok).toBe(true);
    await expect(take(m)).rejects.toThrow(/being handed over to rebuild-other already/);
  });
});
