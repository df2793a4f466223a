import type { RawEventDocument } from '../../src/events/types.js';
import { createRng, testEvent } from '../../test/helpers/workload.js';

/**
 * `TestEvent`s spread over `aggregates` aggregates, interleaved at random (seeded), each
 * aggregate's versions 1, 2, 3 … in stream order: the event-counter tests' workload, built in
 * memory. With 10,000 aggregates and a lane window of 2,000 events most events of a window
 * belong to different aggregates, and some aggregates have several events in flight.
 */
export function buildTestEvents(events: number, aggregates: number, seed = 42): RawEventDocument[] {
  const rng = createRng(seed);
  const versions = new Map<string, number>();
  const at = new Date();
  const out: RawEventDocument[] = [];
  for (let i = 0; i < events; i++) {
    const aggregateId = `agg-${Math.floor(rng() * aggregates)}`;
    const version = (versions.get(aggregateId) ?? 0) + 1;
    versions.set(aggregateId, version);
    out.push(testEvent(aggregateId, version, at));
  }
  return out;
}
