import type { Db, Document } from 'mongodb';
import { isDuplicateKeyError } from '../lib/errors.js';
import { plainValue } from '../writer/sanitize.js';

/**
 * projector_dead_letters (DESIGN.md invariant 6). Per module and ordering key:
 *  - one `parked` entry: the event whose handler kept failing (error, attempts);
 *  - `waiting` entries: later events of the same key, recorded in arrival order so the stream
 *    checkpoint can move on while the key is parked;
 *  - an operator turns `parked` into `retry-requested` or `skip-requested` (CLI); the owning
 *    daemon performs it in order, then replays the waiting entries and releases the key;
 *  - finished entries become `resolved` / `skipped` (kept for the audit trail).
 * Invalid envelopes are stored as `invalid` (no key to park; nothing waits behind them). An
 * invalid event delivered again (a restart, catch-up overlapping the stream) refreshes its entry
 * while it is still `invalid`, and leaves it alone once an operator acted on it.
 */
export const DEAD_LETTERS = 'projector_dead_letters';

export type DeadLetterStatus =
  'parked' | 'waiting' | 'retry-requested' | 'skip-requested' | 'resolved' | 'skipped' | 'invalid';

export const OPEN_STATUSES: readonly DeadLetterStatus[] = [
  'parked',
  'retry-requested',
  'skip-requested',
];

export interface DeadLetter {
  _id: string;
  module: string;
  key: string;
  eventId: string;
  aggregateId: unknown;
  eventType: unknown;
  version: unknown;
  /** `_id` of the event in event_store, to re-read it on retry. */
  sourceId: unknown;
  error: { message: string; field?: string; code?: string | number };
  attempts: number;
  status: DeadLetterStatus;
  order: number;
  createdAt: Date;
  updatedAt: Date;
  requestedBy?: string;
  skippedBy?: string;
  /** The raw event as plain data (for people reading the dead letters). */
  event: unknown;
}

export interface DeadLetterStore {
  park(
    entry: Omit<DeadLetter, '_id' | 'createdAt' | 'updatedAt' | 'order' | 'status'>,
  ): Promise<void>;
  wait(
    entry: Omit<
      DeadLetter,
      '_id' | 'createdAt' | 'updatedAt' | 'order' | 'status' | 'attempts' | 'error'
    >,
  ): Promise<void>;
  /** False when the entry exists and an operator already acted on it (skipped, retried). */
  invalid(
    entry: Omit<DeadLetter, '_id' | 'createdAt' | 'updatedAt' | 'order' | 'status' | 'key'>,
  ): Promise<boolean>;
  /** Keys with an open (parked or requested) entry, per module. */
  openKeys(module: string): Promise<Set<string>>;
  requests(module: string): Promise<DeadLetter[]>;
  waiting(module: string, key: string): Promise<DeadLetter[]>;
  setStatus(id: string, status: DeadLetterStatus, extra?: Document): Promise<void>;
  count(module: string): Promise<number>;
}

export function createDeadLetterStore(db: Db, now: () => Date = () => new Date()): DeadLetterStore {
  const coll = db.collection<DeadLetter>(DEAD_LETTERS);
  let counter = 0;
  const order = () => now().getTime() * 1000 + (counter++ % 1000);
  const id = (module: string, eventId: string) => `${module}:${eventId}`;

  async function put(doc: Omit<DeadLetter, 'createdAt' | 'updatedAt' | 'order'>): Promise<void> {
    const at = now();
    await coll.updateOne(
      { _id: { $eq: doc._id } },
      {
        $set: { ...doc, event: plainValue(doc.event), updatedAt: at },
        $setOnInsert: { createdAt: at, order: order() },
      },
      { upsert: true },
    );
  }

  return {
    park: (e) => put({ ...e, _id: id(e.module, e.eventId), status: 'parked' }),
    // A redelivered event (catch-up and stream overlap, a restart) must not overwrite its own
    // parked entry or reorder a waiting one: waiting entries are only ever inserted.
    async wait(e) {
      const at = now();
      await coll.updateOne(
        { _id: { $eq: id(e.module, e.eventId) } },
        {
          $setOnInsert: {
            ...e,
            event: plainValue(e.event),
            status: 'waiting',
            attempts: 0,
            error: { message: 'waiting behind a parked event of the same key' },
            createdAt: at,
            updatedAt: at,
            order: order(),
          },
        },
        { upsert: true },
      );
    },
    async invalid(e) {
      const at = now();
      const doc = { ...e, _id: id(e.module, e.eventId), key: '', status: 'invalid' as const };
      try {
        // Matches only a new or still-invalid entry; any other makes the upsert's insert collide.
        await coll.updateOne(
          { _id: { $eq: doc._id }, status: 'invalid' },
          {
            $set: { ...doc, event: plainValue(doc.event), updatedAt: at },
            $setOnInsert: { createdAt: at, order: order() },
          },
          { upsert: true },
        );
        return true;
      } catch (err) {
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    },
    async openKeys(module) {
      const docs = await coll
        .find(
          { module: { $eq: module }, status: { $in: [...OPEN_STATUSES] } },
          { projection: { key: 1 } },
        )
        .toArray();
      return new Set(docs.map((d) => d.key));
    },
    requests: (module) =>
      coll
        .find({ module: { $eq: module }, status: { $in: ['retry-requested', 'skip-requested'] } })
        .toArray(),
    waiting: (module, key) =>
      coll
        .find({ module: { $eq: module }, key: { $eq: key }, status: 'waiting' })
        .sort({ order: 1 })
        .toArray(),
    async setStatus(docId, status, extra = {}) {
      await coll.updateOne(
        { _id: { $eq: docId } },
        { $set: { ...extra, status, updatedAt: now() } },
      );
    },
    count: (module) =>
      coll.countDocuments({
        module: { $eq: module },
        status: { $in: [...OPEN_STATUSES, 'waiting', 'invalid'] },
      }),
  };
}
