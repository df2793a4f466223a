import type { ProjectorEvent } from '../events/types.js';

/**
 * Guards the live stream against change events of inserts that were never stored. A real
 * MongoDB does not emit them, but the embedded fallback (mongo-java-server 1.47) emits one for
 * an insert refused with E11000 — the losing writer of an optimistic-concurrency race — and a
 * reaction keyed by something other than the aggregate (the transfer saga) would act on a debit
 * that does not exist. The store's unique (aggregateId, version) means two event ids at one
 * version cannot both be real: when one arrives at a version already seen (or older) with
 * another id, the store decides. Memory is bounded (least recently seen aggregates forgotten).
 */
export interface PhantomGuard {
  /** False when the event is not in event_store (drop it). */
  isStored(event: ProjectorEvent): Promise<boolean>;
}

const MAX_AGGREGATES = 100_000;

export function createPhantomGuard(
  storedEventId: (aggregateId: string, version: number) => Promise<string | undefined>,
): PhantomGuard {
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
    async isStored(event) {
      const seen = last.get(event.aggregateId);
      if (!seen || event.version > seen.version) {
        remember(event);
        return true;
      }
      if (event.version === seen.version && event.eventId === seen.eventId) return true;
      const stored = await storedEventId(event.aggregateId, event.version);
      return stored === event.eventId;
    },
  };
}
