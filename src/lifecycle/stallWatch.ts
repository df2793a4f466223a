import { ObjectId } from 'mongodb';
import type { RawEventDocument } from '../events/types.js';
import type { Logger } from '../observability/logger.js';
import type { StallAction } from '../observability/metrics.js';

/**
 * Stuck ≠ quiet (DESIGN.md invariant 10, "Stalls"): a change stream can stop delivering without
 * an error, and then every module sits idle, healthy-looking, while event_store grows. The watch
 * tells that apart from a quiet store with one indexed query per `stallMs` (stallProbe.ts):
 *
 *  - it remembers the newest event the stream has delivered, in event_store's own
 *    `{eventTimestamp: 1, _id: 1}` order (from the modules' checkpoints before the first);
 *  - while nothing is pending anywhere and nothing is being dispatched, it asks event_store for
 *    the first event a module handles beyond that: none means quiet, and nothing happens;
 *  - the same event still not delivered one period later is a stall: the modules handling it
 *    are `stalled` (health, /readyz) and the daemon repairs it — first by reopening the stream
 *    from the checkpoints, then, if that delivers nothing either, by scanning event_store from
 *    just before the newest delivered event (`rescan`);
 *  - the stall ends as soon as that event is delivered.
 *
 * Limits, on purpose: an event whose eventTimestamp is older than what the stream delivered
 * already (a back-dated write) is not looked for, and a single event lost between delivered ones
 * is found by gap repair when its aggregate's next event comes, not here.
 */
export interface StoreKey {
  at: Date;
  /** The event's `_id`; absent: after every event at `at`. */
  id?: unknown;
}

export interface ProbedEvent {
  key: StoreKey;
  eventType: string;
  eventId: unknown;
}

export type StallRequest = 'reopen' | 'rescan';

export interface StallWatchOptions {
  stallMs: number;
  /** Before the stream delivered anything: what the checkpoints already cover. */
  anchor: StoreKey;
  /** The first event a module handles after `after`, in index order (one query). */
  probe(after: StoreKey): Promise<ProbedEvent | undefined>;
  /** Nothing pending in any lane and no event being dispatched. */
  quiet(): boolean;
  /** The slots that handle an event type. */
  handling(eventType: string): readonly string[];
  /** Stalled slots and since when, read by status() and health. */
  stalls: Map<string, Date>;
  now(): number;
  logger: Logger;
  onStall?(slot: string, action: StallAction): void;
}

export interface StallWatch {
  /** An event the stream (or a rescan) delivered. */
  delivered(raw: RawEventDocument): void;
  /** One probe; the repair to make now, if any. */
  check(): Promise<StallRequest | undefined>;
  /** The newest event delivered so far (where a rescan starts). */
  readonly seen: StoreKey;
  /** Forgets the stall flags (the follow phase ended). */
  clear(): void;
}

function compareIds(a: unknown, b: unknown): number {
  if (a instanceof ObjectId && b instanceof ObjectId)
    return a.toHexString().localeCompare(b.toHexString());
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Order of two keys in `{eventTimestamp: 1, _id: 1}`; a key without id is after its whole time. */
export function compareKeys(a: StoreKey, b: StoreKey): number {
  const t = a.at.getTime() - b.at.getTime();
  if (t !== 0) return t;
  if (a.id === undefined) return b.id === undefined ? 0 : 1;
  if (b.id === undefined) return -1;
  return compareIds(a.id, b.id);
}

export function keyOf(raw: RawEventDocument): StoreKey | undefined {
  const at: unknown = raw.eventTimestamp;
  return at instanceof Date && !Number.isNaN(at.getTime()) ? { at, id: raw._id } : undefined;
}

interface Suspect {
  event: ProbedEvent;
  since: number;
  repairs: number;
  flagged: readonly string[];
}

export function createStallWatch(o: StallWatchOptions): StallWatch {
  let seen = o.anchor;
  let suspect: Suspect | undefined;

  function resolve(): void {
    if (suspect && suspect.flagged.length > 0) {
      for (const slot of suspect.flagged) o.stalls.delete(slot);
      o.logger.info(
        { modules: suspect.flagged, eventId: suspect.event.eventId, repairs: suspect.repairs },
        'stream stall over: the event it was waiting for has been delivered',
      );
    }
    suspect = undefined;
  }

  function stalled(s: Suspect): StallRequest {
    const action = s.repairs === 0 ? 'reopen' : 'rescan';
    s.repairs++;
    const slots = o.handling(s.event.eventType);
    const since = new Date(Date.now() - (o.now() - s.since));
    for (const slot of slots) if (!o.stalls.has(slot)) o.stalls.set(slot, since);
    s.flagged = slots;
    o.logger.warn(
      {
        modules: slots,
        eventId: s.event.eventId,
        eventType: s.event.eventType,
        forMs: Math.round(o.now() - s.since),
        action,
      },
      action === 'reopen'
        ? 'stream stalled: nothing pending while event_store holds a newer event; reopening the change stream from the checkpoints'
        : 'stream still stalled after reopening: scanning event_store for what it did not deliver',
    );
    const counted: StallAction = action === 'reopen' ? 'reopened' : 'rescanned';
    for (const slot of slots) o.onStall?.(slot, counted);
    return action;
  }

  return {
    delivered(raw) {
      const key = keyOf(raw);
      if (!key || compareKeys(key, seen) <= 0) return;
      seen = key;
      if (suspect && compareKeys(seen, suspect.event.key) >= 0) resolve();
    },
    async check() {
      // Busy is not stuck: pending work is the lanes' business (health.stuckAfterMs).
      if (!o.quiet()) return undefined;
      const first = await o.probe(seen);
      if (!first) {
        resolve();
        return undefined;
      }
      if (!suspect || compareKeys(seen, suspect.event.key) >= 0) {
        resolve();
        suspect = { event: first, since: o.now(), repairs: 0, flagged: [] };
        return undefined;
      }
      if (o.now() - suspect.since < o.stallMs || !o.quiet()) return undefined;
      return stalled(suspect);
    },
    get seen() {
      return seen;
    },
    clear() {
      for (const slot of suspect?.flagged ?? []) o.stalls.delete(slot);
      suspect = undefined;
    },
  };
}
