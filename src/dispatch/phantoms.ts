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
}

export interface PhantomGuardOptions {
  storedEventId(aggregateId: string, version: number): Promise<string | undefined>;
  confirmEvery?(): Promise<boolean>;
  existsById?(sourceId: unknown): Promise<boolean>;
}

const MAX_AGGREGATES = 100_000;

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
  return {
    async isStored(event, sourceId) {
      if (o.existsById && (await o.confirmEvery?.())) {
        // A stored event always has a storage _id; a change event without one is no insert.
        return sourceId !== undefined && o.existsById(sourceId);
      }
      const seen = last.get(event.aggregateId);
      if (!seen || event.version > seen.version) {
        remember(event);
        return true;
      }
      if (event.version === seen.version && event.eventId === seen.eventId) return true;
      return (await o.storedEventId(event.aggregateId, event.version)) === event.eventId;
    },
  };
}
