import type { EventData } from '../events/types.js';
import { ProjectordError } from '../lib/errors.js';

/**
 * Upcasters bring every event to the current schema version of its type before any module sees
 * it. Each one moves one event type from one `eventVersion` to the next; chains (1.0 → 2.0 →
 * 3.0) are followed until no upcaster matches. A cycle or a duplicate is a start-up error.
 */
export interface Upcaster {
  eventType: string;
  fromVersion: string;
  toVersion: string;
  upcast(eventData: EventData): EventData;
}

export function defineUpcaster<TFrom extends object = EventData, TTo extends object = EventData>(
  eventType: string,
  fromVersion: string,
  toVersion: string,
  upcast: (eventData: TFrom) => TTo,
): Upcaster {
  return {
    eventType,
    fromVersion,
    toVersion,
    upcast: (data) => upcast(data as TFrom) as EventData,
  };
}

export interface UpcasterRegistry {
  /** Returns the event data and version after every matching upcaster has run. */
  upcast(
    eventType: string,
    eventVersion: string,
    data: EventData,
  ): { version: string; data: EventData };
  readonly size: number;
}

export function createUpcasterRegistry(upcasters: readonly Upcaster[]): UpcasterRegistry {
  const byKey = new Map<string, Upcaster>();
  for (const u of upcasters) {
    const key = `${u.eventType}@${u.fromVersion}`;
    if (byKey.has(key)) {
      throw new ProjectordError(
        'UPCASTER_DUPLICATE',
        `Two upcasters for ${u.eventType} version ${u.fromVersion}: keep one.`,
        { exitCode: 2 },
      );
    }
    byKey.set(key, u);
  }
  for (const u of upcasters) {
    const seen = new Set<string>([u.fromVersion]);
    let next = byKey.get(`${u.eventType}@${u.toVersion}`);
    let at = u.toVersion;
    while (next) {
      if (seen.has(at)) {
        throw new ProjectordError(
          'UPCASTER_CYCLE',
          `Upcasters for ${u.eventType} form a cycle at version ${at}: each must move to a newer version.`,
          { exitCode: 2 },
        );
      }
      seen.add(at);
      at = next.toVersion;
      next = byKey.get(`${u.eventType}@${at}`);
    }
  }
  return {
    size: byKey.size,
    upcast(eventType, eventVersion, data) {
      let version = eventVersion;
      let current = data;
      for (
        let u = byKey.get(`${eventType}@${version}`);
        u;
        u = byKey.get(`${eventType}@${version}`)
      ) {
        current = u.upcast(current);
        version = u.toVersion;
      }
      return { version, data: current };
    },
  };
}
