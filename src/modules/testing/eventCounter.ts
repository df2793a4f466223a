import { defineProjection } from '../types.js';

/**
 * `event-counter`: the engine's built-in test module (crash, connection-cut and dead-letter
 * tests; test/helpers/recompute.ts is its reference recomputation). Every effect is one of the
 * engine's exactly-once writes, so a replayed event must change nothing:
 *  - `event_counter_view`, one document per aggregate: `count` of applied events and the
 *    `lastEventId`, guarded by the aggregate version;
 *  - `event_counter_totals`, document `all`: `events` across all aggregates, applied once per event.
 * A `TestPoison` event, or any event with `eventData.poison === true`, fails on every attempt:
 * it must end in the dead letters and park its aggregate (DESIGN.md invariant 6).
 */
export const EVENT_COUNTER_MODULE = 'event-counter';
export const EVENT_COUNTER_VIEW = 'event_counter_view';
export const EVENT_COUNTER_TOTALS = 'event_counter_totals';
export const EVENT_COUNTER_TOTALS_ID = 'all';
export const EVENT_COUNTER_TYPES = ['TestEvent', 'TestPoison'] as const;
export const POISON_MESSAGE = 'poison event';

export function isPoison(eventType: string, eventData: Readonly<Record<string, unknown>>): boolean {
  return eventType === 'TestPoison' || eventData.poison === true;
}

export default defineProjection({
  name: EVENT_COUNTER_MODULE,
  version: 1,
  handles: EVENT_COUNTER_TYPES,
  collections: [EVENT_COUNTER_VIEW, EVENT_COUNTER_TOTALS],
  // Thrown synchronously on purpose: handlers may be plain functions, and the engine must treat
  // a synchronous throw exactly like a rejected promise.
  apply(event, ctx) {
    if (isPoison(event.eventType, event.eventData)) throw new Error(POISON_MESSAGE);
    ctx.upsert(EVENT_COUNTER_VIEW, event.aggregateId, {
      inc: { count: 1 },
      set: { lastEventId: event.eventId },
    });
    ctx.incrementOnce(EVENT_COUNTER_TOTALS, EVENT_COUNTER_TOTALS_ID, { events: 1 });
  },
});
