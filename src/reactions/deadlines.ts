import type { Collection, Db, Document } from 'mongodb';
import { isDuplicateKeyError, ProjectordError } from '../lib/errors.js';
import type { Deadline } from '../modules/types.js';
import { fnv1a32 } from '../partitions/hash.js';
import { plainValue } from '../writer/sanitize.js';

/**
 * Durable saga timeouts in `saga_deadlines` (DESIGN.md "Daemon collections"), one document per
 * (module, deadline id):
 *
 *   pending ──claim──▶ firing ──markFired──▶ fired
 *      ▲  │              │
 *      │  └─cancel─▶ cancelled        a crashed owner's claim goes stale and is claimed again
 *      └──release (fire failed)──┘    (so a deadline fires at least once; handlers are idempotent)
 *
 * Scheduling again replaces the due time and payload of a pending (or cancelled) deadline; a
 * firing or fired one is never revived — a saga that wants another timeout uses another id.
 * Every transition is one conditional single-document write, so two schedulers never both
 * claim the same deadline.
 */
export const SAGA_DEADLINES = 'saga_deadlines';

export type DeadlineStatus = 'pending' | 'firing' | 'fired' | 'cancelled';

export interface StoredDeadline extends Deadline {
  _id: string;
  module: string;
  /**
   * fnv1a32 of `key` (partitions/hash.ts): a scheduler claims only its partitions' deadlines
   * with `{ keyHash: { $mod: [N, p] } }`, whatever N is now. Absent on deadlines scheduled before
   * partitions existed; a module split into partitions has them stamped first (partitions/layout.ts).
   */
  keyHash?: number;
  status: DeadlineStatus;
  owner?: string;
  claimedAt?: Date;
  /** Claims so far (a re-claim after a crash or a failed fire counts again). */
  attempts: number;
  updatedAt: Date;
  firedAt?: Date;
  lastError?: string;
  /**
   * Set when the deadline is fired or cancelled: MongoDB's TTL monitor deletes the document
   * after it. Until then a repeated schedule of the same id stays a no-op (fired) or revives
   * it (cancelled); after it, a repeat would fire again, which the handlers' idempotency makes
   * harmless — so the retention only needs to outlast any saga that could repeat a step.
   */
  expireAt?: Date;
}

/** How long fired and cancelled deadlines are kept by default: 30 days. */
export const DEFAULT_DEADLINE_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

export interface DeadlineStore {
  ensureIndexes(): Promise<void>;
  schedule(module: string, deadline: Deadline<object>): Promise<void>;
  cancel(module: string, id: string): Promise<void>;
  get(module: string, id: string): Promise<StoredDeadline | null>;
  /** Claims the most overdue deadline of `scopes` that is due, or whose claim went stale. */
  claimNext(
    scopes: readonly DeadlineScope[],
    owner: string,
    staleClaimMs: number,
  ): Promise<StoredDeadline | null>;
  /**
   * Refreshes a live claim so it never looks stale while its handler still runs; the new
   * claim time, or null when the claim was lost (another owner took it over).
   */
  renewClaim(d: StoredDeadline): Promise<Date | null>;
  /** False when the claim was lost meanwhile (another owner took over a stale claim). */
  markFired(d: StoredDeadline): Promise<boolean>;
  /** Back to pending after a failed fire, due again at `retryAt`. */
  release(d: StoredDeadline, error: Error, retryAt: Date): Promise<void>;
}

/**
 * Whose deadlines a scheduler fires: a whole module (its name), or the partitions of a module
 * split into `count` that this instance owns: the deadline's key hashes into one of them.
 */
export type DeadlineScope =
  string | { module: string; count: number; partitions: readonly number[] };

function scopeFilter(scope: DeadlineScope): Document {
  if (typeof scope === 'string') return { module: scope };
  return {
    module: scope.module,
    $or: scope.partitions.map((p) => ({ keyHash: { $mod: [scope.count, p] } })),
  };
}

export function deadlineDocId(module: string, id: string): string {
  return `${module}:${id}`;
}

/** A deadline as a module scheduled it, checked (DEADLINE_INVALID names the module and the fix). */
export function checkedDeadline(module: string, d: Deadline<object>): Deadline {
  const bad = (what: string) =>
    new ProjectordError(
      'DEADLINE_INVALID',
      `Module ${module} scheduled a deadline with ${what}: fix the module.`,
    );
  if (typeof d.id !== 'string' || d.id === '') throw bad('no id');
  if (typeof d.key !== 'string' || d.key === '') throw bad(`no key (deadline ${d.id})`);
  if (!(d.dueAt instanceof Date) || Number.isNaN(d.dueAt.getTime())) {
    throw bad(`an invalid dueAt (deadline ${d.id})`);
  }
  const payload: unknown = d.payload;
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw bad(`a payload that is not an object (deadline ${d.id})`);
  }
  // A plain object, so a record of its fields (what onDeadline is handed back after storage).
  return { ...d, payload: payload as Deadline['payload'] };
}

/** The claim a document holds: what the owner must still match to finish or release it. */
function claimFilter(d: StoredDeadline): Document {
  return { _id: d._id, status: 'firing', owner: d.owner, claimedAt: d.claimedAt };
}

export function createDeadlineStore(
  db: Db,
  now: () => Date = () => new Date(),
  retentionMs: number = DEFAULT_DEADLINE_RETENTION_MS,
): DeadlineStore {
  const coll: Collection<StoredDeadline> = db.collection<StoredDeadline>(SAGA_DEADLINES);
  const expiry = (at: Date) => new Date(at.getTime() + retentionMs);
  return {
    async ensureIndexes() {
      await coll.createIndex({ status: 1, dueAt: 1 }, { name: 'status_due' });
      await coll.createIndex({ module: 1, status: 1 }, { name: 'module_status' });
      // Without it saga_deadlines grows by every deadline ever scheduled.
      await coll.createIndex({ expireAt: 1 }, { name: 'expire', expireAfterSeconds: 0 });
    },

    async schedule(module, deadline) {
      const d = checkedDeadline(module, deadline);
      const _id = deadlineDocId(module, d.id);
      try {
        await coll.updateOne(
          { _id, status: { $in: ['pending', 'cancelled'] } },
          {
            $set: {
              key: d.key,
              keyHash: fnv1a32(d.key),
              dueAt: d.dueAt,
              payload: plainValue(d.payload) as Document,
              status: 'pending',
              updatedAt: now(),
            },
            // A cancelled deadline revived: pending ones never expire.
            $unset: { expireAt: '' },
            $setOnInsert: { module, id: d.id, attempts: 0 },
          },
          { upsert: true },
        );
      } catch (e) {
        // The document exists but is firing or fired: it must not be revived.
        if (!isDuplicateKeyError(e)) throw e;
      }
    },

    async cancel(module, id) {
      const at = now();
      await coll.updateOne(
        { _id: deadlineDocId(module, id), status: 'pending' },
        { $set: { status: 'cancelled', updatedAt: at, expireAt: expiry(at) } },
      );
    },

    get: (module, id) => coll.findOne({ _id: deadlineDocId(module, id) }),

    async claimNext(scopes, owner, staleClaimMs) {
      const at = now();
      const plain = scopes.filter((s) => typeof s === 'string');
      const split = scopes.filter((s) => typeof s !== 'string' && s.partitions.length > 0);
      const whose = [
        ...(plain.length > 0 ? [{ module: { $in: plain } }] : []),
        ...split.map(scopeFilter),
      ];
      if (whose.length === 0) return null;
      return coll.findOneAndUpdate(
        {
          $and: [
            whose.length === 1 ? (whose[0] as Document) : { $or: whose },
            {
              $or: [
                { status: 'pending', dueAt: { $lte: at } },
                { status: 'firing', claimedAt: { $lte: new Date(at.getTime() - staleClaimMs) } },
              ],
            },
          ],
        },
        { $set: { status: 'firing', owner, claimedAt: at, updatedAt: at }, $inc: { attempts: 1 } },
        { sort: { dueAt: 1 }, returnDocument: 'after' },
      );
    },

    async renewClaim(d) {
      const at = now();
      const res = await coll.updateOne(claimFilter(d), { $set: { claimedAt: at, updatedAt: at } });
      return res.matchedCount === 1 ? at : null;
    },

    async markFired(d) {
      const at = now();
      const res = await coll.updateOne(claimFilter(d), {
        $set: { status: 'fired', firedAt: at, updatedAt: at, expireAt: expiry(at) },
      });
      return res.matchedCount === 1;
    },

    async release(d, error, retryAt) {
      await coll.updateOne(claimFilter(d), {
        $set: { status: 'pending', dueAt: retryAt, lastError: error.message, updatedAt: now() },
      });
    },
  };
}
