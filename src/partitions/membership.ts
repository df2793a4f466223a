import type { Collection, Db } from 'mongodb';

/**
 * `projector_instances` (DESIGN.md "Partitions"): every running `projectord run` announces
 * itself, so instances can split the partitions among those alive:
 *
 *   { _id: instanceId, modules: { <module>: partitions }, startedAt, heartbeatAt, expiresAt,
 *     host, pid }
 *
 * An instance renews its document with its lease heartbeat and deletes it on a graceful stop
 * (the others then rebalance at once); one that died stops counting at `expiresAt` (the lease
 * ttl after its last heartbeat) and a TTL index deletes the document later. `modules` lists the
 * modules it runs (`modules.enabled`) with their partition counts: only instances running a
 * module share its partitions, and an instance configured with another count for a module is
 * seen (layout.ts refuses to start beside it).
 */
export const INSTANCES_COLLECTION = 'projector_instances';

export interface InstanceDocument {
  _id: string;
  modules: Record<string, number>;
  startedAt: Date;
  heartbeatAt: Date;
  expiresAt: Date;
  host: string;
  pid: number;
}

export interface Membership {
  ensureIndexes(): Promise<void>;
  /** Announces this instance (again) until ttlMs from now. */
  heartbeat(): Promise<void>;
  /** The instances alive now, this one included once it has announced itself. */
  live(): Promise<InstanceDocument[]>;
  /** Takes this instance out at once (a graceful stop). */
  leave(): Promise<void>;
}

export interface MembershipOptions {
  db: Db;
  instanceId: string;
  modules: Readonly<Record<string, number>>;
  ttlMs: number;
  clock?: () => Date;
  host: string;
  pid: number;
}

export function createMembership(o: MembershipOptions): Membership {
  const coll: Collection<InstanceDocument> = o.db.collection(INSTANCES_COLLECTION);
  const clock = o.clock ?? (() => new Date());
  const startedAt = clock();
  return {
    async ensureIndexes() {
      // Cleaning only: liveness is `expiresAt > now`, the TTL monitor deletes the dead later.
      await coll.createIndex({ expiresAt: 1 }, { name: 'expire', expireAfterSeconds: 0 });
    },
    async heartbeat() {
      const now = clock();
      await coll.updateOne(
        { _id: o.instanceId },
        {
          $set: {
            modules: { ...o.modules },
            heartbeatAt: now,
            expiresAt: new Date(now.getTime() + o.ttlMs),
            host: o.host,
            pid: o.pid,
          },
          $setOnInsert: { startedAt },
        },
        { upsert: true },
      );
    },
    live: () =>
      coll
        .find({ expiresAt: { $gt: clock() } })
        .sort({ _id: 1 })
        .toArray(),
    async leave() {
      await coll.deleteOne({ _id: o.instanceId });
    },
  };
}
