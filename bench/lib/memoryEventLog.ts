import { createUpcasterRegistry, type Upcaster } from '../../src/dispatch/upcast.js';
import { validateEnvelope } from '../../src/dispatch/validate.js';
import type { PipelineDeps } from '../../src/dispatch/pipeline.js';
import type { ProjectorEvent, RawEventDocument } from '../../src/events/types.js';
import { matchesStreamFilter } from '../../src/lifecycle/fetcher.js';
import type { ReactionServices } from '../../src/modules/context.js';
import type { AppendResult } from '../../src/modules/types.js';
import { reactionEventId } from '../../src/reactions/append.js';
import { createPositions, type StreamEvent } from './streamEvents.js';

/**
 * The event store as the reactions of the in-process benchmark see it. Events are recorded as
 * the source hands them over (a reaction reading an account's stream sees what was stored up
 * to then). A reaction's append gets the aggregate's next version after everything the
 * workload holds, is recorded at once and queued behind the workload for the source, as a
 * change stream would deliver it; an append whose id is already known is a duplicate, as with
 * the real appender (src/reactions/append.ts). Deadlines are only counted: no scheduler fires
 * them here.
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
  const registry = createUpcasterRegistry(upcasters);
  const streams = new Map<string, RawEventDocument[]>();
  const known = new Set<string>();
  const nextVersion = new Map<string, number>();
  for (const { raw } of workload) {
    const id = String(raw.aggregateId);
    nextVersion.set(id, Math.max(nextVersion.get(id) ?? 0, Number(raw.version)));
    // A replayed recording already holds the reactions' events: appending them is a duplicate.
    if (typeof raw.eventId === 'string') known.add(raw.eventId);
  }
  const positions = createPositions(1_800_000_000);
  let appended: StreamEvent[] = [];
  const stats = { appends: 0, duplicates: 0, schedules: 0, cancels: 0 };

  const prepare = (raw: RawEventDocument) => {
    const v = validateEnvelope(raw);
    if (!v.ok) return undefined;
    const up = registry.upcast(v.event.eventType, v.event.eventVersion, v.event.eventData);
    return { event: { ...v.event, eventVersion: up.version, eventData: up.data }, raw };
  };

  function record(raw: RawEventDocument): void {
    const id = String(raw.aggregateId);
    const list = streams.get(id);
    if (list) list.push(raw);
    else streams.set(id, [raw]);
    if (typeof raw.eventId === 'string') known.add(raw.eventId);
  }

  function versions(aggregateId: string, from: number, to: number) {
    return (streams.get(aggregateId) ?? [])
      .filter((r) => Number(r.version) >= from && Number(r.version) <= to)
      .map(prepare)
      .filter((x) => x !== undefined);
  }

  const reactions: ReactionServices = {
    append(cause, module, e): Promise<AppendResult> {
      const eventId = reactionEventId(module, e.idempotencyKey);
      if (known.has(eventId)) {
        stats.duplicates++;
        return Promise.resolve({ ok: true, eventId, version: 0, duplicate: true });
      }
      const version = (nextVersion.get(e.aggregateId) ?? 0) + 1;
      nextVersion.set(e.aggregateId, version);
      const at = new Date();
      const raw: RawEventDocument = {
        eventId,
        aggregateId: e.aggregateId,
        aggregateType: e.aggregateType,
        eventType: e.eventType,
        eventVersion: e.eventVersion ?? '1.0',
        version,
        eventTimestamp: at,
        storedAt: at,
        eventData: e.eventData,
        eventMetadata: { producedBy: `projectord:${module}`, causationId: cause?.eventId },
      };
      record(raw);
      appended.push({ raw, ...positions() });
      stats.appends++;
      return Promise.resolve({ ok: true, eventId, version, duplicate: false });
    },
    schedule() {
      stats.schedules++;
      return Promise.resolve();
    },
    cancel() {
      stats.cancels++;
      return Promise.resolve();
    },
    // Filtered before upcasting, as the server does (the stored documents are matched).
    readStream: (aggregateId, filter) =>
      Promise.resolve(
        (streams.get(aggregateId) ?? [])
          .filter((r) => matchesStreamFilter(r.eventType, r.eventData, filter))
          .map(prepare)
          .filter((x) => x !== undefined)
          .map((x): ProjectorEvent => x.event),
      ),
  };

  return {
    record,
    takeAppended() {
      const out = appended;
      appended = [];
      return out;
    },
    reactions,
    fetch: {
      versions: (aggregateId, from, to) => Promise.resolve(versions(aggregateId, from, to)),
      bySourceId: () => Promise.resolve(undefined),
    },
    stats,
  };
}
