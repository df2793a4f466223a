import type { ProjectorEvent } from '../events/types.js';

/**
 * Guards the live stream against change events of inserts that were never stored. A real
 * MongoDB does not emit them, but the embedded fallback (mongo-java-server 1.47) emits one for
 * an insert refused with E11000 — the losing writer of an optimistic-concurrency race — and a
 * reaction keyed by something other than the aggregate (the transfer saga) would act on a debit
 * that does not exist. Two ways to tell, one per kind of server:
 *  - `confirmEvery()` true (source.confirmInserts; auto = not a real mongod): every event is
 *    looked up by its storage `_id` — the phantom may even arrive before the real event;
 *  - otherwise the store's unique (aggregateId, version) decides only when an event arrives at
 *    a version already seen (or older) with another id: two ids at one version cannot both be
 *    real. Memory is bounded (least recently seen aggregates forgotten).
 */
export interface PhantomGuard {
  /** False when the event is not in event_store (drop it). */
  isStored(event: ProjectorEvent, sourceId?: unknown): Promise<boolean>;
  /**
   * The storage id of the event about to be checked, and (lazily) those of the events read ahead
   * of it. When every event is confirmed and `next` has no answer on the way yet, one query looks
   * up `next` and every id ahead that has none, so the following `isStored` calls find their
   * answers waiting: one round trip per read-ahead, not per event. A no-op otherwise.
   */
  warm(next: unknown, ahead: () => readonly unknown[]): void;
}

export interface PhantomGuardOptions {
  storedEventId(aggregateId: string, version: number): Promise<string | undefined>;
  confirmEvery?(): Promise<boolean>;
  /** Which of these storage ids are in event_store (one query). */
  storedIds?(sourceIds: readonly unknown[]): Promise<readonly unknown[]>;
}

const MAX_AGGREGATES = 100_000;
/** Looked-up ids not yet asked for (an epoch that ended with events read ahead): bounded. */
const MAX_WARM = 20_000;

/** A storage id as a map key: ObjectIds and strings never collide. */
function idKey(id: unknown): string {
  return `${typeof id}:${String(id)}`;
}

export function createPhantomGuard(o: PhantomGuardOptions): PhantomGuard {
  const last = new Map<string, { version: number; eventId: string }>();
  const remember = (e: ProjectorEvent) => {
    last.delete(e.aggregateId);
    last.set(e.aggregateId, { version: e.version, eventId: e.eventId });
    if (last.size > MAX_AGGREGATES) {
      const oldest = last.keys().next();
      if (!oldest.done) last.delete(oldest.value);
    }
  };
  // Confirmation lookups under way or answered, by id key, until their event asks.
  const warmed = new Map<string, Promise<ReadonlySet<string>>>();
  let confirming = false; // known true once confirmEvery() said so
  const lookUp = (ids: readonly unknown[]): Promise<ReadonlySet<string>> => {
    const found = o.storedIds!(ids).then((stored) => new Set(stored.map(idKey)));
    // A failed lookup fails only the event that waits on it now; the others read ahead are
    // forgotten, so the next epoch (which reads them again) asks again instead of failing on a
    // stale error, one event per epoch.
    found.catch(() => {
      for (const id of ids) {
        const key = idKey(id);
        if (warmed.get(key) === found) warmed.delete(key);
      }
    });
    return found;
  };
  return {
    async isStored(event, sourceId) {
      if (o.storedIds && (await o.confirmEvery?.())) {
        confirming = true;
        // A stored event always has a storage _id; a change event without one is no insert.
        if (sourceId === undefined) return false;
        const key = idKey(sourceId);
        const answer = warmed.get(key) ?? lookUp([sourceId]);
        warmed.delete(key);
        return (await answer).has(key);
      }
      const seen = last.get(event.aggregateId);
      if (!seen || event.version > seen.version) {
        remember(event);
        return true;
      }
      if (event.version === seen.version && event.eventId === seen.eventId) return true;
      return (await o.storedEventId(event.aggregateId, event.version)) === event.eventId;
    },
    warm(next, ahead) {
      if (!confirming || !o.storedIds || next === undefined || warmed.has(idKey(next))) return;
      const ids: unknown[] = [next];
      for (const id of ahead()) if (id !== undefined && !warmed.has(idKey(id))) ids.push(id);
      if (warmed.size + ids.length > MAX_WARM) warmed.clear();
      const answer = lookUp(ids);
      for (const id of ids) warmed.set(idKey(id), answer);
    },
  };
}
