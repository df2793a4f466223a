import { setTimeout as delay } from 'node:timers/promises';
import { defineProjection } from '../../src/modules/types.js';

/**
 * A deliberately slow projection for the memory scenario: each event waits 1 ms (a remote
 * call, say) before its one guarded upsert, so a backlog drains far slower than it can be
 * read and the engine's backpressure is what keeps memory flat.
 */
export const SLOW_VIEW = 'bench_slow_view';

export default defineProjection({
  name: 'bench-slow-upsert',
  version: 1,
  handles: ['TestEvent'],
  collections: [SLOW_VIEW],
  async apply(event, ctx) {
    await delay(1);
    ctx.upsert(SLOW_VIEW, event.aggregateId, {
      inc: { count: 1 },
      set: { lastEventId: event.eventId },
    });
  },
});
