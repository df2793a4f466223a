import type { EventData } from '../../events/types.js';
import type { TestEvent } from './kit.js';

/**
 * Events of one aggregate for tests, numbered as a command side numbers them: each call gives
 * the next `version`, an `eventId` of `<aggregateId>:<version>` and a timestamp one minute after
 * the previous one. `over` replaces any envelope field, and may hold a deliberately wrong value
 * (a test of bad input).
 */
export interface EventStreamOptions {
  /** Default `Aggregate`. */
  aggregateType?: string;
  /** Default `1.0`. */
  eventVersion?: string;
  /** The first event's time; default 2025-01-01T00:00:00Z. */
  start?: Date;
}

export type EventMaker = (eventType: string, eventData?: EventData, over?: TestEvent) => TestEvent;

export function eventStream(aggregateId: string, opts: EventStreamOptions = {}): EventMaker {
  let version = 0;
  let time = (opts.start ?? new Date('2025-01-01T00:00:00Z')).getTime() - 60_000;
  return (eventType, eventData = {}, over = {}) => {
    version += 1;
    time += 60_000;
    const at = new Date(time);
    return {
      eventId: `${aggregateId}:${version}`,
      aggregateId,
      aggregateType: opts.aggregateType ?? 'Aggregate',
      eventType,
      eventVersion: opts.eventVersion ?? '1.0',
      version,
      eventTimestamp: at,
      storedAt: at,
      eventData,
      eventMetadata: {},
      ...over,
    };
  };
}
