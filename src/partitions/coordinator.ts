import type { Db } from 'mongodb';
import type { LeaseKeeper } from '../leases/leaseKeeper.js';
import {
  LEASES_COLLECTION,
  type LeaseDocument,
  type LeaseManager,
} from '../leases/leaseManager.js';
import { toError } from '../lib/errors.js';
import type { ModuleDefinition } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';
import { assign, maxShare } from './assignment.js';
import type { Partitioning } from './counts.js';
import type { Membership } from './membership.js';

/**
 * Runs this instance's share of the slots (DESIGN.md "Partitions", invariant 11): every
 * `heartbeatMs` one round
 *
 *   announce (membership) → read the live instances and the slots' leases → plan (assignment.ts)
 *   → hand over what the plan gives others → try for what the plan gives it
 *
 * while the lease keeper renews what it holds on its own timer (leaseKeeper.ts).
 * A handover is drain-first: the slot leaves `owned()` (the daemon stops routing to it, drains
 * its lane, flushes, saves its checkpoint), and only then is its lease released; meanwhile the
 * lease is still renewed, so no one else can start it early. The instance the plan names takes
 * it once the lease is free; an owner that died is replaced when its lease expires. A slot
 * nobody took for two rounds (instances briefly disagreeing about who is alive) may be taken by
 * any instance under its ⌈N / k⌉ share. Writes are fenced by the lease as before (canWrite).
 * While the plan still waits for a slot to come free, rounds come every quarter heartbeat.
 */
export interface SlotCoordinator {
  /** First announcement and round; then one every heartbeat. */
  start(): Promise<void>;
  /** Slots to run here now: held, and not being handed over. */
  owned(): ReadonlySet<string>;
  fence(slot: string): number;
  canWrite(slot: string): boolean;
  /** A stop began: leave the membership, take nothing more, keep renewing what is held. Idempotent. */
  drain(): Promise<void>;
  /** Ends the rounds and releases every lease (after the daemon drained). */
  stop(): Promise<void>;
}

export interface DaemonSide {
  rebalance(): void;
  whenStopped(slot: string): Promise<void>;
}

export interface CoordinatorOptions {
  db: Db;
  instanceId: string;
  modules: readonly ModuleDefinition[];
  partitioning: Partitioning;
  manager: LeaseManager;
  /** Built with `modules: () => coordinator's wanted list`; started by the coordinator. */
  keeper: LeaseKeeper;
  membership: Membership;
  heartbeatMs: number;
  daemon: () => DaemonSide | undefined;
  logger: Logger;
  clock?: () => Date;
}

export function createSlotCoordinator(o: CoordinatorOptions): SlotCoordinator & {
  /** The keeper's acquire list for this round (wired as its `modules`). */
  wanted(): readonly string[];
} {
  const { keeper, membership } = o;
  const clock = o.clock ?? (() => new Date());
  const logger = o.logger.child({ component: 'partitions' });
  const slots = o.modules.map((m) => ({
    module: m.name,
    count: o.partitioning.count(m.name),
    names: o.partitioning.slots([m]).map((s) => s.name),
  }));
  const allNames = slots.flatMap((s) => s.names);
  const leaving = new Set<string>();
  const freeSince = new Map<string, number>();
  let wanted: string[] = [];
  let waiting = false;
  let draining = false;
  let state: 'idle' | 'running' | 'stopped' = 'idle';
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  let leavingMembership: Promise<void> | undefined;
  let announced = '';

  async function plan(): Promise<void> {
    const now = clock().getTime();
    const members = await membership.live();
    const leases = await o.db
      .collection<LeaseDocument>(LEASES_COLLECTION)
      .find({ _id: { $in: allNames } })
      .toArray();
    const holders = new Map(
      leases.filter((l) => l.expiresAt.getTime() > now).map((l) => [l._id, l.owner] as const),
    );
    const mine = keeper.owned();
    const next: string[] = [];
    waiting = false;
    for (const s of slots) {
      const running = members
        .filter((m) => m.modules[s.module] === s.count || m._id === o.instanceId)
        .map((m) => m._id);
      if (!running.includes(o.instanceId)) running.push(o.instanceId);
      const target = assign({ module: s.module, slots: s.names, members: running, holders });
      const share = maxShare(s.count, running.length);
      let held = s.names.filter((n) => mine.has(n) && !leaving.has(n)).length;
      for (const name of s.names) {
        const holder = holders.get(name);
        if (holder === undefined) freeSince.set(name, freeSince.get(name) ?? now);
        else freeSince.delete(name);
        const to = target.get(name);
        if (mine.has(name)) {
          // Stopping: everything is released after the daemon drained; nothing to hand over.
          if (to !== o.instanceId && !leaving.has(name) && !draining) handOver(name, to);
          continue;
        }
        if (draining) continue;
        if (to === o.instanceId) {
          next.push(name);
          if (holder !== undefined) waiting = true;
        } else if (holder === undefined && held < share) {
          const since = freeSince.get(name) ?? now;
          if (now - since >= 2 * o.heartbeatMs) {
            next.push(name);
            held++;
          }
        }
      }
    }
    wanted = next;
  }

  /** Drain first, then release: the next owner starts from the checkpoint saved here. */
  function handOver(slot: string, to: string | undefined): void {
    leaving.add(slot);
    logger.info({ slot, to }, 'handing the slot over: draining it first');
    o.daemon()?.rebalance();
    const stopped = o.daemon()?.whenStopped(slot) ?? Promise.resolve();
    void stopped
      .then(() => keeper.release(slot))
      .then(() => logger.info({ slot, to }, 'slot drained and its lease released'))
      .catch((e: unknown) =>
        logger.warn({ err: toError(e), slot }, 'could not release the lease; it will expire'),
      )
      .finally(() => leaving.delete(slot));
  }

  /**
   * Held, valid here (renewed in time: a lease whose renewals were late is not run, though the
   * keeper may still renew it), and not being handed over.
   */
  function owned(): ReadonlySet<string> {
    const names = new Set<string>();
    for (const [name, lease] of keeper.owned()) {
      if (!leaving.has(name) && o.manager.isValid(lease)) names.add(name);
    }
    return names;
  }

  /** Tells the daemon when what it should run changed (a late renewal healed, a loss, a take). */
  function notifyIfChanged(): void {
    const now = [...owned()].sort().join();
    if (now === announced) return;
    announced = now;
    o.daemon()?.rebalance();
  }

  async function announceAndPlan(): Promise<void> {
    try {
      if (!draining) await membership.heartbeat();
      await plan();
    } catch (e) {
      // Without a plan the keeper still renews what it holds; a new try comes next round.
      logger.warn({ err: toError(e) }, 'partition round failed; retrying');
      wanted = [];
    }
  }

  /**
   * One planning round. Renewals do not wait for it: the keeper renews on its own timer, so the
   * plan's reads, however slow, never let a held lease run out. New targets are tried for at
   * once (a keeper tick; ticks never overlap).
   */
  async function once(): Promise<void> {
    const startedAt = Date.now();
    await announceAndPlan();
    const held = keeper.owned();
    if (wanted.some((slot) => !held.has(slot))) await keeper.tick();
    notifyIfChanged();
    const tookMs = Date.now() - startedAt;
    if (tookMs > o.heartbeatMs) {
      logger.warn(
        { tookMs },
        'a partition round took longer than leases.heartbeatMs: MongoDB slow?',
      );
    }
  }

  function loop(): void {
    round = once().finally(() => {
      round = undefined;
      if (state !== 'running') return;
      const delay = waiting ? Math.max(50, Math.floor(o.heartbeatMs / 4)) : o.heartbeatMs;
      timer = setTimeout(loop, delay);
    });
  }

  return {
    wanted: () => wanted,
    async start() {
      if (state !== 'idle') return;
      await membership
        .ensureIndexes()
        .catch((e: unknown) =>
          logger.warn({ err: toError(e) }, 'could not create the projector_instances TTL index'),
        );
      await once();
      keeper.start();
      state = 'running';
      timer = setTimeout(loop, o.heartbeatMs);
    },
    owned,
    fence: (slot) => keeper.owned().get(slot)?.fence ?? 0,
    canWrite(slot) {
      const lease = keeper.owned().get(slot);
      return lease !== undefined && o.manager.isValid(lease);
    },
    drain() {
      draining = true;
      wanted = [];
      keeper.drain();
      leavingMembership ??= membership
        .leave()
        .catch((e: unknown) =>
          logger.warn({ err: toError(e) }, 'could not leave projector_instances; it will expire'),
        );
      return leavingMembership;
    },
    async stop() {
      state = 'stopped';
      clearTimeout(timer);
      await round;
      await leavingMembership;
      await keeper.stop();
    },
  };
}

/**
 * The coordinator with its lease keeper, as `projectord run` uses it: the keeper tries only
 * for what the round's plan names and tells the daemon of every acquisition and loss.
 */
export function createInstanceOwnership(
  o: Omit<CoordinatorOptions, 'keeper'> & {
    createKeeper(options: {
      modules: () => readonly string[];
      onAcquired: () => void;
      onLost: () => void;
    }): LeaseKeeper;
  },
): SlotCoordinator {
  let wanted: () => readonly string[] = () => [];
  const keeper = o.createKeeper({
    modules: () => wanted(),
    // The lease manager logs acquisitions and losses (with the fence); here they only rebalance.
    onAcquired: () => o.daemon()?.rebalance(),
    onLost: () => o.daemon()?.rebalance(),
  });
  const coordinator = createSlotCoordinator({ ...o, keeper });
  wanted = coordinator.wanted;
  return coordinator;
}
