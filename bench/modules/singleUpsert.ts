import { defineProjection } from '../../src/modules/types.js';

/**
 * The smallest realistic projection: one guarded upsert per event into a per-aggregate view
 * (count and last event id). The engine benchmark's unit of work; the built-in event-counter
 * module does the same plus a shared counter (two writes per event).
 */
export const SINGLE_UPSERT_VIEW = 'bench_upsert_view';

export default defineProjection({
  name: 'bench-single-upsert',
  version: 1,
  handles: ['TestEvent'],
  collections: [SINGLE_UPSERT_VIEW],
  apply(event, ctx) {
    ctx.upsert(SINGLE_UPSERT_VIEW, event.aggregateId, {
      inc: { count: 1 },
      set: { lastEventId: event.eventId },
    });
  },
});
