import type { Logger } from '../observability/logger.js';
import type { Parking } from './parking.js';
import type { Persist } from './persist.js';
import type { EventItem, LaneOptions, Outcome } from './types.js';
import type { VersionMemory } from './versionMemory.js';

export interface GapRepairDeps {
  lane: LaneOptions;
  versions: VersionMemory;
  parking: Parking;
  persist: Persist;
  log: Logger;
  applyOne(item: EventItem, key: string): Promise<Outcome>;
}

/**
 * An aggregate's event arrived with versions missing between the last one applied here
 * (`known`) and it: the missing ones are read from event_store and applied first, in order.
 * 'parked': the store itself has a hole (the event is dead-lettered); 'again': a missing event
 * parked the key, so the caller re-decides the event (it now waits); 'repaired': apply it.
 */
export async function repairGap(
  item: EventItem,
  key: string,
  known: number,
  d: GapRepairDeps,
): Promise<'repaired' | 'parked' | 'again'> {
  const { event } = item;
  const missing = await d.persist('gap repair', () =>
    d.lane.fetchVersions(event.aggregateId, known + 1, event.version - 1),
  );
  d.log.info(
    {
      aggregateId: event.aggregateId,
      from: known + 1,
      to: event.version - 1,
      found: missing.length,
    },
    'repairing a version gap',
  );
  const contiguous = missing.every((m, i) => m.event.version === known + 1 + i);
  if (!contiguous || missing.length !== event.version - 1 - known) {
    // The store itself has a hole: applying on would break per-aggregate order for good.
    const err = Object.assign(
      new Error(
        `version gap: ${event.aggregateId} stands at ${known} here, but versions ${known + 1}..${event.version - 1} ` +
          'are not all in event_store; skip this event (dlq skip) once the store is repaired',
      ),
      { field: 'version' },
    );
    await d.parking.park(item, key, err, 0, 'version');
    return 'parked';
  }
  const handles = new Set(d.lane.module.handles);
  for (const m of missing) {
    if (!handles.has(m.event.eventType)) {
      d.versions.remember(m.event.aggregateId, m.event.version);
      continue;
    }
    if ((await d.applyOne(m, key)) === 'dead_lettered') return 'again';
  }
  return 'repaired';
}
