import type { Db, Document } from 'mongodb';
import {
  DEAD_LETTERS,
  OPEN_STATUSES,
  type DeadLetter,
  type DeadLetterStatus,
} from '../lanes/deadLetters.js';
import { sleep } from '../lanes/backoff.js';
import { usageError } from '../lib/errors.js';

/**
 * What `projectord dlq` does to projector_dead_letters. The CLI only records an operator's
 * request; the daemon that runs the module performs it in order (lane.release): a retry re-runs
 * the parked event and, if it succeeds, the events waiting behind it; a skip records who skipped
 * it and releases the waiting ones. The request is compare-and-set on status `parked`, so two
 * operators cannot both request, and an entry the daemon is working on is never overwritten.
 * Skipping an `invalid` event is immediate: no key is parked behind it, so there is nothing for
 * a daemon to do and it is marked `skipped` at once. Retrying one is a request like any other:
 * the daemon reads the event again and validates it again (lifecycle/invalidRetry.ts) — still
 * invalid, the entry is `invalid` again; valid now (an upgrade, a corrected store), it is handled.
 */
export type Action = 'retry' | 'skip';

export const DEAD_LETTER_STATUSES: readonly DeadLetterStatus[] = [
  'parked',
  'waiting',
  'retry-requested',
  'skip-requested',
  'resolved',
  'skipped',
  'invalid',
];

/** What `dlq list` shows without --status: everything not finished. */
export const UNFINISHED: readonly DeadLetterStatus[] = [...OPEN_STATUSES, 'waiting', 'invalid'];

/** Statuses the daemon leaves an entry in once it performed a request. */
export const SETTLED: ReadonlySet<DeadLetterStatus> = new Set([
  'parked',
  'invalid',
  'resolved',
  'skipped',
]);

/** Statuses a retry or a skip may be requested from. */
const REQUESTABLE: readonly DeadLetterStatus[] = ['parked', 'invalid'];

export async function listDeadLetters(
  db: Db,
  q: { module?: string; statuses: readonly DeadLetterStatus[]; limit: number },
): Promise<DeadLetter[]> {
  const filter: Document = { status: { $in: [...q.statuses] } };
  if (q.module !== undefined) filter.module = { $eq: q.module };
  return db
    .collection<DeadLetter>(DEAD_LETTERS)
    .find(filter)
    .sort({ module: 1, order: 1 })
    .limit(q.limit)
    .toArray();
}

export function findDeadLetter(db: Db, id: string): Promise<DeadLetter | null> {
  return db.collection<DeadLetter>(DEAD_LETTERS).findOne({ _id: { $eq: id } });
}

async function refusal(db: Db, entry: DeadLetter, action: Action): Promise<Error> {
  const id = entry._id;
  switch (entry.status) {
    case 'waiting': {
      const blocker = await db.collection<DeadLetter>(DEAD_LETTERS).findOne({
        module: { $eq: entry.module },
        key: { $eq: entry.key },
        status: { $in: [...OPEN_STATUSES] },
      });
      const which = blocker ? `${blocker._id} (${blocker.status})` : 'the parked entry of its key';
      return usageError(
        'DLQ_WAITING',
        `Dead letter ${id} is waiting behind ${which}, not failing itself: ${action} that one ` +
          `(projectord dlq ${action} ${blocker?._id ?? '<id>'}); this one follows it in order.`,
      );
    }
    case 'retry-requested':
    case 'skip-requested':
      return usageError(
        'DLQ_ALREADY_REQUESTED',
        `Dead letter ${id} already has a ${entry.status.replace('-requested', '')} request` +
          `${entry.requestedBy ? ` (by ${entry.requestedBy})` : ''}; the daemon running module ` +
          `${entry.module} performs it. Follow it with projectord dlq list --module ${entry.module}.`,
      );
    case 'resolved':
    case 'skipped':
      return usageError(
        'DLQ_FINISHED',
        `Dead letter ${id} is already ${entry.status}: there is nothing left to ${action}.`,
      );
    default:
      return usageError('DLQ_STATUS', `Dead letter ${id} has status ${entry.status}.`);
  }
}

/** Records the request; returns the entry as it is afterwards. Exit-2 errors say what to do. */
export async function requestAction(
  db: Db,
  id: string,
  action: Action,
  by: string,
  now: Date = new Date(),
): Promise<DeadLetter> {
  const coll = db.collection<DeadLetter>(DEAD_LETTERS);
  const entry = await findDeadLetter(db, id);
  if (!entry) {
    throw usageError(
      'DLQ_UNKNOWN_ID',
      `No dead letter has the id "${id}". Ids look like <module>:<eventId>: list them with ` +
        'projectord dlq list.',
    );
  }
  const immediate = action === 'skip' && entry.status === 'invalid';
  const set: Partial<DeadLetter> & Document = immediate
    ? { status: 'skipped', skippedBy: by, updatedAt: now }
    : { status: `${action}-requested`, requestedBy: by, requestedAt: now, updatedAt: now };
  // Compare-and-set on the status read: an entry that changed meanwhile is refused below.
  const from = REQUESTABLE.includes(entry.status) ? entry.status : 'parked';
  const updated = await coll.findOneAndUpdate(
    { _id: { $eq: id }, status: { $eq: from } },
    { $set: set },
    { returnDocument: 'after' },
  );
  if (updated) return updated;
  const current = await findDeadLetter(db, id);
  throw await refusal(db, current ?? entry, action);
}

/**
 * Polls until the daemon has performed the request: the entry is parked or invalid again (the
 * retry failed), or it is resolved/skipped and no event of its key is still waiting behind it.
 * Resolves with the entry, or undefined when `timeoutMs` passed first.
 */
export async function waitUntilPerformed(
  db: Db,
  id: string,
  o: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal },
): Promise<DeadLetter | undefined> {
  const deadline = Date.now() + o.timeoutMs;
  const coll = db.collection<DeadLetter>(DEAD_LETTERS);
  for (;;) {
    const entry = await findDeadLetter(db, id);
    if (entry?.status === 'parked' || entry?.status === 'invalid') return entry;
    if (entry && SETTLED.has(entry.status)) {
      const waiting = await coll.countDocuments({
        module: { $eq: entry.module },
        key: { $eq: entry.key },
        status: 'waiting',
      });
      if (waiting === 0) return entry;
    }
    if (Date.now() >= deadline || o.signal?.aborted) return undefined;
    await sleep(Math.min(o.intervalMs ?? 500, Math.max(0, deadline - Date.now())), o.signal);
  }
}
