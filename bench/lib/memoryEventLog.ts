import { createUpcasterRegistry, type Upcaster } from '../../src/dispatch/upcast.js';
import type { PipelineDeps } from '../../src/dispatch/pipeline.js';
import type { RawEventDocument } from '../../src/events/types.js';
import type { ReactionServices } from '../../src/modules/context.js';
import { createMemoryEventStore } from '../../src/modules/testing/memoryEventStore.js';
import { createPositions, type StreamEvent } from './streamEvents.js';

/**
 * The event store as the reactions of the in-process benchmark see it: the test kit's memory
 * event store (src/modules/testing/memoryEventStore.ts), fed as the source hands events over
 * (a reaction reading an account's stream sees what was stored up to then). A reaction's append
 * gets the aggregate's next version after everything the workload holds and is queued behind
 * the workload for the source, with a position, as a change stream would deliver it; an append
 * of an id the workload holds (a replayed recording) is a duplicate. Deadlines are only
 * counted: no scheduler fires them here.
 */
export interface MemoryEventLog {
  record(raw: RawEventDocument): void;
  /** Appended by reactions and not yet taken by the source. */
  takeAppended(): StreamEvent[];
  readonly reactions: ReactionServices;
  readonly fetch: PipelineDeps['fetch'];
  readonly stats: { appends: number; duplicates: number; schedules: number; cancels: number };
}

export function createMemoryEventLog(
  workload: readonly StreamEvent[],
  upcasters: readonly Upcaster[],
): MemoryEventLog {
  const reservedVersions = new Map<string, number>();
  const knownEventIds = new Set<string>();
  for (const { raw } of workload) {
    const id = String(raw.aggregateId);
    reservedVersions.set(id, Math.max(reservedVersions.get(id) ?? 0, Number(raw.version)));
    if (typeof raw.eventId === 'string') knownEventIds.add(raw.eventId);
  }
  const store = createMemoryEventStore({
    upcasters: createUpcasterRegistry(upcasters),
    now: () => new Date(),
    reservedVersions,
    knownEventIds,
  });
  const positions = createPositions(1_800_000_000);
  const counts = { schedules: 0, cancels: 0 };
  return {
    record: (raw) => void store.insert(raw),
    takeAppended: () => store.takeAppended().map((raw) => ({ raw, ...positions() })),
    reactions: {
      append: store.append,
      readStream: store.readStream,
      schedule() {
        counts.schedules++;
        return Promise.resolve();
      },
      cancel() {
        counts.cancels++;
        return Promise.resolve();
      },
    },
    fetch: store.fetch,
    get stats() {
      return { ...store.stats, ...counts };
    },
  };
}
