import type { Db } from 'mongodb';
import type { Config } from '../config/schema.js';
import { sleep } from '../lanes/backoff.js';
import { ProjectordError, toError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';
import { createLeaseKeeper } from './leaseKeeper.js';
import {
  createLeaseManager,
  type Lease,
  type LeaseDocument,
  type LeaseHandover,
  type LeaseManager,
} from './leaseManager.js';

/**
 * Taking a module from whoever runs it, for the last steps of `projectord rebuild` (DESIGN.md
 * invariant 11: one owner per module, the rebuild included):
 *
 *   request handover ──▶ wait for the owner's lease to run out ──▶ acquire ──▶ held ──▶ release
 *                                 │ still renewed after its expiry + a margin
 *                                 ▼
 *                       withdraw the request, throw HANDOVER_REFUSED
 *
 * The owner's renew stops matching once the request is pending (leaseManager.ts), so its keeper
 * drops the module and its flushes are fenced; its lease then expires within ttlMs. An owner that
 * keeps renewing ignores requests (a projectord older than this one): the rebuild gives up.
 * Once taken, the lease is renewed every heartbeatMs by a lease keeper of its own, as a daemon's
 * (leaseKeeper.ts), drained so a lease lost is never taken again behind the rebuild's back;
 * `release()` frees it at once, so a daemon's keeper takes the module back on its next tick.
 */
export interface HeldLease {
  /** Throws when the lease is no longer valid here (renewals failed): nothing may be swapped. */
  assertHeld(): void;
  /** Stops renewing and frees the lease. Idempotent. */
  release(): Promise<void>;
}

export interface TakeOverOptions {
  manager: LeaseManager & LeaseHandover;
  instanceId: string;
  module: string;
  ttlMs: number;
  heartbeatMs: number;
  logger: Logger;
  signal?: AbortSignal;
}

export async function takeOverLease(o: TakeOverOptions): Promise<HeldLease> {
  const { manager, module } = o;
  const request = await requestHandover(o);
  // Renewals after the request fail, so the owner's lease ends at the expiry the request saw
  // (by the owner's clock: a heartbeat and a fifth of the ttl absorb the skew).
  const owner = request.owner;
  const endsInMs = Math.max(0, request.expiresAt.getTime() - Date.now());
  const waitMs = endsInMs + o.heartbeatMs + Math.floor(o.ttlMs / 5);
  if (owner !== o.instanceId && endsInMs > 0) {
    o.logger.info(
      { module, owner },
      `waiting for instance ${owner} to hand over module ${module} (up to ${Math.ceil(waitMs / 1000)} s)`,
    );
  }
  let lease: Lease;
  try {
    lease = await acquireWithin(o, waitMs, owner);
  } catch (e) {
    await manager.withdrawHandover(module).catch((w: unknown) => {
      o.logger.warn({ err: toError(w), module }, 'could not withdraw the handover request');
    });
    throw e;
  }
  o.logger.info({ module, fence: lease.fence }, 'lease taken; final pass');
  const keeper = createLeaseKeeper({
    manager,
    modules: [module],
    heartbeatMs: o.heartbeatMs,
    onAcquired: () => undefined,
    onLost: () => undefined, // assertHeld() reports it
    logger: o.logger,
  });
  keeper.hold(lease);
  keeper.drain();
  keeper.start();
  return {
    assertHeld() {
      if (keeper.owned().get(module) === lease && manager.isValid(lease)) return;
      throw new ProjectordError(
        'REBUILD_LEASE_LOST',
        `Rebuild of ${module} lost the module's lease before the swap (heartbeats failed or ` +
          'another instance took it over); nothing was swapped in. Run projectord rebuild again.',
      );
    },
    release: () => keeper.stop(),
  };
}

async function requestHandover(o: TakeOverOptions): Promise<LeaseDocument> {
  const request = await o.manager.requestHandover(o.module);
  if (request.ok) return request.lease;
  throw new ProjectordError(
    'HANDOVER_PENDING',
    `Module ${o.module} is being handed over to ${request.pendingFor} already (another ` +
      `rebuild?). Let it finish, or retry after ${request.until.toISOString()}.`,
  );
}

/**
 * Polls acquire until the owner's lease has run out. The request is renewed every half ttl: it
 * lapses after two of this process's ttls, and the owner's ttl may be longer.
 */
async function acquireWithin(o: TakeOverOptions, waitMs: number, owner: string): Promise<Lease> {
  const deadline = Date.now() + waitMs;
  const pollMs = Math.min(1000, Math.max(50, Math.floor(o.heartbeatMs / 4)));
  let requestedAt = Date.now();
  for (;;) {
    const lease = await o.manager.acquire(o.module);
    if (lease) return lease;
    if (Date.now() - requestedAt > o.ttlMs / 2) {
      await requestHandover(o);
      requestedAt = Date.now();
    }
    if (Date.now() > deadline) {
      throw new ProjectordError(
        'HANDOVER_REFUSED',
        `Module ${o.module}: instance ${owner} kept renewing its lease for ` +
          `${Math.ceil(waitMs / 1000)} s after the rebuild asked it to hand the module over (a ` +
          'projectord older than this one ignores the request). Stop that instance, or take the ' +
          'module out of its modules.enabled, then run projectord rebuild again; nothing was ' +
          'swapped in.',
      );
    }
    await sleep(pollMs, o.signal);
    if (o.signal?.aborted) {
      throw new ProjectordError(
        'STOPPED',
        `Stopped while waiting for the lease of module ${o.module}: nothing was swapped in.`,
      );
    }
  }
}

/**
 * Takes several leases at once (every partition of a module: `<module>#<p>`), each as
 * `takeOverLease` does, concurrently so the waits overlap. Held only when all are: if one fails,
 * the others are released and the first error is thrown.
 */
export async function takeOverLeases(
  o: Omit<TakeOverOptions, 'module'>,
  slots: readonly string[],
): Promise<HeldLease> {
  const results = await Promise.allSettled(slots.map((module) => takeOverLease({ ...o, module })));
  const held = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const release = async () => {
    await Promise.all(held.map((h) => h.release()));
  };
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    await release();
    throw failed.reason;
  }
  return {
    assertHeld: () => held.forEach((h) => h.assertHeld()),
    release,
  };
}

/**
 * The `exclusive` option of rebuildModule for `projectord rebuild`: its own instance id
 * (`rebuild:<instanceId>`) and the configured lease timing; every one of `slots` (the module's
 * partitions; default the module's own lease) is taken.
 */
export function rebuildExclusively(o: {
  db: Db;
  config: Config;
  module: string;
  slots?: readonly string[];
  logger: Logger;
  signal?: AbortSignal;
}): () => Promise<HeldLease> {
  const instanceId = `rebuild:${o.config.instanceId ?? `${process.pid}`}`;
  const { ttlMs, heartbeatMs } = o.config.leases;
  return () =>
    takeOverLeases(
      {
        manager: createLeaseManager({ db: o.db, instanceId, ttlMs, heartbeatMs, logger: o.logger }),
        instanceId,
        ttlMs,
        heartbeatMs,
        logger: o.logger,
        ...(o.signal ? { signal: o.signal } : {}),
      },
      o.slots ?? [o.module],
    );
}
