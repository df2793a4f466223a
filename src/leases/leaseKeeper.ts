import { toError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Lease, LeaseManager } from './leaseManager.js';

/**
 * Keeps this instance's leases: every `heartbeatMs` one tick renews the leases it owns and
 * tries to acquire the modules nobody holds (free, released or expired).
 *
 *   idle ──start()──▶ running ──stop()──▶ stopped
 *
 * Contracts:
 *  - onAcquired(module, lease) runs once per acquisition; the engine starts the module's lane
 *    and checks `manager.isValid(lease)` before each flush. If it throws, the lease is released
 *    so another instance can try.
 *  - onLost(module) runs when a renew finds the lease taken over, or when heartbeats kept
 *    failing until the lease expired locally: the engine must stop the lane without flushing.
 *  - A failed heartbeat alone is not a loss: the lease stays until it is no longer valid.
 *  - drain() stops acquiring while the owned leases are still renewed: call it when a stop
 *    begins, so an instance that is draining never takes a module it would hand back moments
 *    later (another instance's release would otherwise land on it).
 *  - stop() ends the loop, waits for a running tick and releases every owned lease without
 *    calling onLost; call it after the engine has drained and saved its checkpoints.
 * Ticks never overlap and never reject.
 */
export interface LeaseKeeperOptions {
  manager: LeaseManager;
  /** What to try to acquire; a function is asked every tick (a changing plan: partitions). */
  modules: readonly string[] | (() => readonly string[]);
  heartbeatMs: number;
  onAcquired: (module: string, lease: Lease) => void | Promise<void>;
  onLost: (module: string) => void | Promise<void>;
  logger: Logger;
}

export interface LeaseKeeper {
  /** Runs a first tick at once, then one every heartbeatMs. Idempotent. */
  start(): void;
  /** One round of renew + acquire (the loop's step; exposed for start-up and tests). */
  tick(): Promise<void>;
  owned(): ReadonlyMap<string, Lease>;
  /** Keeps a lease acquired elsewhere (a rebuild's handover) as if this keeper had taken it. */
  hold(lease: Lease): void;
  /** From now on only renews what it owns (idempotent). */
  drain(): void;
  /**
   * Frees one lease now (a handover: call it once the engine has drained the module and saved
   * its checkpoint). No onLost. A no-op for a lease not owned.
   */
  release(module: string): Promise<void>;
  /** Idempotent; returns the same promise to every caller. */
  stop(): Promise<void>;
}

export function createLeaseKeeper(opts: LeaseKeeperOptions): LeaseKeeper {
  const { manager, heartbeatMs } = opts;
  const logger = opts.logger.child({ component: 'lease-keeper' });
  const owned = new Map<string, Lease>();
  let state: 'idle' | 'running' | 'stopped' = 'idle';
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let acquiring = true;

  async function callback(what: string, module: string, run: () => void | Promise<void>) {
    try {
      await run();
      return true;
    } catch (e) {
      logger.error({ err: toError(e), module }, `${what} callback failed`);
      return false;
    }
  }

  async function keep(module: string, lease: Lease): Promise<void> {
    try {
      if (await manager.renew(lease)) return;
    } catch (e) {
      if (manager.isValid(lease)) {
        logger.warn({ err: toError(e), module }, 'lease heartbeat failed; still valid, will retry');
        return;
      }
      logger.warn({ err: toError(e), module }, 'lease heartbeat failed until the lease expired');
    }
    owned.delete(module);
    await callback('onLost', module, () => opts.onLost(module));
  }

  async function tryAcquire(module: string): Promise<void> {
    let lease: Lease | null;
    try {
      lease = await manager.acquire(module);
    } catch (e) {
      logger.warn({ err: toError(e), module }, 'could not try to acquire the lease; will retry');
      return;
    }
    if (lease === null) return;
    owned.set(module, lease);
    const acquired = lease;
    if (await callback('onAcquired', module, () => opts.onAcquired(module, acquired))) return;
    owned.delete(module);
    await manager.release(lease).catch((e: unknown) => {
      logger.warn({ err: toError(e), module }, 'could not release the lease; it will expire');
    });
  }

  async function round(): Promise<void> {
    // All at once: one slow answer must not hold the others' renewals past their validity.
    await Promise.all([...owned].map(([module, lease]) => keep(module, lease)));
    const wanted = typeof opts.modules === 'function' ? opts.modules() : opts.modules;
    for (const module of wanted) {
      if (state === 'stopped' || !acquiring) return;
      if (!owned.has(module)) await tryAcquire(module);
    }
  }

  function tick(): Promise<void> {
    current ??= round().finally(() => {
      current = undefined;
    });
    return current;
  }

  function loop(): void {
    tick().then(
      () => {
        if (state === 'running') timer = setTimeout(loop, heartbeatMs);
      },
      (e: unknown) => logger.error({ err: toError(e) }, 'lease keeper stopped unexpectedly'),
    );
  }

  return {
    start() {
      if (state !== 'idle') return;
      state = 'running';
      loop();
    },
    tick,
    owned: () => owned,
    hold(lease) {
      owned.set(lease.module, lease);
    },
    drain() {
      acquiring = false;
    },
    async release(module) {
      // Not during a round: a renew already under way would extend the lease just freed.
      while (current) await current;
      const lease = owned.get(module);
      if (!lease) return;
      owned.delete(module);
      await manager.release(lease);
    },
    stop() {
      stopping ??= (async () => {
        state = 'stopped';
        clearTimeout(timer);
        await current;
        const leases = [...owned.values()];
        owned.clear();
        const results = await Promise.allSettled(leases.map((l) => manager.release(l)));
        for (const r of results) {
          if (r.status === 'rejected') {
            logger.warn({ err: toError(r.reason) }, 'could not release a lease; it will expire');
          }
        }
      })();
      return stopping;
    },
  };
}
