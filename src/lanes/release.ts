import type { Applier } from './apply.js';
import type { DeadLetter, DeadLetterStore } from './deadLetters.js';
import type { Parking } from './parking.js';
import type { LaneFetch } from './types.js';
import type { VersionMemory } from './versionMemory.js';

export interface ReleaseDeps {
  module: string;
  store: DeadLetterStore;
  byAggregate: boolean;
  parking: Parking;
  versions: VersionMemory;
  fetchBySourceId: LaneFetch['fetchBySourceId'];
  applyOne: Applier['applyOne'];
}

/**
 * Performs an operator's retry or skip of a parked key, in the key's turn: the parked event is
 * re-run (retry) or marked skipped, then the events that waited behind it run in order. An
 * event failing again parks the key again and ends the release there.
 */
export async function releaseKey(request: DeadLetter, d: ReleaseDeps): Promise<void> {
  const { store } = d;
  const key = request.key;
  d.parking.parked.delete(key);
  if (request.status === 'skip-requested') {
    await store.setStatus(request._id, 'skipped', {
      skippedBy: request.requestedBy ?? 'unknown',
    });
    if (d.byAggregate && typeof request.version === 'number') {
      const aggregateId = String(request.aggregateId);
      d.versions.remember(aggregateId, Math.max(d.versions.get(aggregateId) ?? 0, request.version));
    }
  } else {
    const found = await d.fetchBySourceId(request.sourceId);
    if (!found) {
      await store.setStatus(request._id, 'parked', {
        error: { message: 'event no longer in event_store' },
      });
      d.parking.parked.add(key);
      return;
    }
    const outcome = await d.applyOne(found, key);
    if (outcome === 'dead_lettered') return; // parked again, with the new error
    await store.setStatus(request._id, 'resolved');
  }
  for (const w of await store.waiting(d.module, key)) {
    const found = await d.fetchBySourceId(w.sourceId);
    if (!found) continue;
    const outcome = await d.applyOne(found, key);
    // Parked again: park() turned this very entry (same _id) into the new parked one.
    if (outcome === 'dead_lettered') return;
    await store.setStatus(w._id, 'resolved');
  }
}
