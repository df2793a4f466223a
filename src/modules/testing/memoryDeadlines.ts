import type { Document } from 'mongodb';
import {
  checkedDeadline,
  deadlineDocId,
  DEFAULT_DEADLINE_RETENTION_MS,
  type DeadlineStore,
  type StoredDeadline,
} from '../../reactions/deadlines.js';
import { plainValue } from '../../writer/sanitize.js';
import { bsonCopy } from './memoryDb.js';

/**
 * saga_deadlines in memory, for the module test kit: the transitions of
 * src/reactions/deadlines.ts (pending → firing → fired, cancelled; a firing or fired deadline
 * never revived by scheduling it again; a claim is matched by owner and claim time), so the
 * real scheduler (src/reactions/scheduler.ts) claims and fires from it as it does from MongoDB.
 * Every read hands out a copy, as a server would.
 */
export interface MemoryDeadlineStore extends DeadlineStore {
  all(): StoredDeadline[];
}

export function createMemoryDeadlineStore(
  now: () => Date,
  retentionMs = DEFAULT_DEADLINE_RETENTION_MS,
): MemoryDeadlineStore {
  const docs = new Map<string, StoredDeadline>();
  const out = (d: StoredDeadline | undefined) =>
    d ? bsonCopy(d as Document & StoredDeadline) : null;
  const expiry = (at: Date) => new Date(at.getTime() + retentionMs);
  const claimed = (d: StoredDeadline) => {
    const cur = docs.get(d._id);
    return cur?.status === 'firing' &&
      cur.owner === d.owner &&
      cur.claimedAt?.getTime() === d.claimedAt?.getTime()
      ? cur
      : undefined;
  };

  return {
    ensureIndexes: () => Promise.resolve(),
    schedule(module, deadline) {
      const d = checkedDeadline(module, deadline);
      const _id = deadlineDocId(module, d.id);
      const cur = docs.get(_id);
      if (cur && cur.status !== 'pending' && cur.status !== 'cancelled') return Promise.resolve();
      const next: StoredDeadline = {
        ...(cur ?? { _id, module, id: d.id, attempts: 0 }),
        key: d.key,
        dueAt: d.dueAt,
        payload: bsonCopy(plainValue(d.payload) as Document),
        status: 'pending',
        updatedAt: now(),
      };
      delete next.expireAt;
      docs.set(_id, next);
      return Promise.resolve();
    },
    cancel(module, id) {
      const cur = docs.get(deadlineDocId(module, id));
      if (cur?.status === 'pending') {
        const at = now();
        Object.assign(cur, { status: 'cancelled', updatedAt: at, expireAt: expiry(at) });
      }
      return Promise.resolve();
    },
    get: (module, id) => Promise.resolve(out(docs.get(deadlineDocId(module, id)))),
    claimNext(modules, owner, staleClaimMs) {
      const at = now().getTime();
      const due = [...docs.values()]
        .filter(
          (d) =>
            modules.includes(d.module) &&
            ((d.status === 'pending' && d.dueAt.getTime() <= at) ||
              (d.status === 'firing' && (d.claimedAt?.getTime() ?? 0) <= at - staleClaimMs)),
        )
        .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime())[0];
      if (!due) return Promise.resolve(null);
      const when = new Date(at);
      Object.assign(due, { status: 'firing', owner, claimedAt: when, updatedAt: when });
      due.attempts += 1;
      return Promise.resolve(out(due));
    },
    renewClaim(d) {
      const cur = claimed(d);
      if (!cur) return Promise.resolve(null);
      const at = now();
      Object.assign(cur, { claimedAt: at, updatedAt: at });
      return Promise.resolve(at);
    },
    markFired(d) {
      const cur = claimed(d);
      if (!cur) return Promise.resolve(false);
      const at = now();
      Object.assign(cur, { status: 'fired', firedAt: at, updatedAt: at, expireAt: expiry(at) });
      return Promise.resolve(true);
    },
    release(d, error, retryAt) {
      const cur = claimed(d);
      if (cur) {
        Object.assign(cur, {
          status: 'pending',
          dueAt: retryAt,
          lastError: error.message,
          updatedAt: now(),
        });
      }
      return Promise.resolve();
    },
    all: () => [...docs.values()].map((d) => bsonCopy(d as Document & StoredDeadline)),
  };
}
