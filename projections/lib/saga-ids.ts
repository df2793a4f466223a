import { canonicalId } from '../../src/events/ids.js';
import type { ProjectorEvent } from '../../src/events/types.js';

/**
 * The identities of the bank sagas, derived from events alone so that every module (the sagas,
 * the compliance audit, the CLI) arrives at the same id for the same case, on every replay.
 */

/**
 * An id field of eventData in canonical form (events/ids.ts: an ObjectId as its hex), or null
 * when absent, empty or not an id. Never throws: ordering keys are computed before validation.
 */
export function dataId(event: ProjectorEvent, key: string): string | null {
  const data: unknown = event.eventData;
  if (typeof data !== 'object' || data === null || !Object.hasOwn(data, key)) return null;
  return canonicalId((data as Record<string, unknown>)[key]) ?? null;
}

/** The compliance review a large debit opens: one per transfer (per debit event without one). */
export function reviewIdFor(event: ProjectorEvent): string {
  return `review-${dataId(event, 'transferId') ?? event.eventId}`;
}

/** The compliance reference an AccountFrozen of the fraud saga carries: one per detection. */
export function fraudReferenceFor(detectionEventId: string): string {
  return `fraud-${detectionEventId}`;
}
