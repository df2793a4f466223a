import type { ModuleDefinition } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';
import type { DeadLetterStore } from './deadLetters.js';
import type { Persist } from './persist.js';
import type { EventItem } from './types.js';

/**
 * Parked keys (invariant 6): a key whose event was dead-lettered holds its later events as
 * waiting entries until an operator retries or skips it. Without a dead-letter store (rebuild)
 * parking is impossible and the error is thrown instead.
 */
export interface Parking {
  readonly parked: Set<string>;
  /** Dead-letters the event and parks its key. */
  park(item: EventItem, key: string, err: Error, attempts: number, field?: string): Promise<void>;
  /** Records an event of a parked key as waiting behind the parked one. */
  recordWaiting(item: EventItem, key: string): Promise<void>;
}

export interface ParkingOptions {
  module: ModuleDefinition;
  deadLetters: DeadLetterStore | undefined;
  parkedKeys: Iterable<string> | undefined;
  log: Logger;
  persist: Persist;
}

export function createParking(o: ParkingOptions): Parking {
  const parked = new Set<string>(o.parkedKeys ?? []);

  /** What identifies an event in the dead letters (and lets a retry re-read it). */
  function letterOf(item: EventItem, key: string) {
    const { event } = item;
    return {
      module: o.module.name,
      key,
      eventId: event.eventId,
      aggregateId: event.aggregateId,
      eventType: event.eventType,
      version: event.version,
      sourceId: item.raw._id,
      event: item.raw,
    };
  }

  return {
    parked,
    async park(item, key, err, attempts, field) {
      const store = o.deadLetters;
      if (!store) throw err;
      o.log.error(
        { err, eventId: item.event.eventId, key, attempts },
        'event dead-lettered; its key is parked',
      );
      await o.persist('dead-lettering', () =>
        store.park({
          ...letterOf(item, key),
          error: { message: err.message, ...(field ? { field } : {}) },
          attempts,
        }),
      );
      parked.add(key);
    },
    async recordWaiting(item, key) {
      const store = o.deadLetters;
      if (!store) throw new Error(`key ${key} is parked but no dead-letter store is set`);
      await o.persist('recording a waiting event', () => store.wait(letterOf(item, key)));
    },
  };
}
