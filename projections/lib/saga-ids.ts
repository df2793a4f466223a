import type { ProjectorEvent } from '../../src/events/types.js';

/**
 * The identities of the bank sagas, derived from events alone so that every module (the sagas,
 * the compliance audit, the CLI) arrives at the same id for the same case, on every replay.
 */

/** The id of a string field of eventData, or null when absent, empty or not a string. */
export function dataText(event: ProjectorEvent, key: string): string | null {
  const data: unknown = event.eventData;
  if (typeof data !== 'object' || data === null || !Object.hasOwn(data, key)) return null;
  const v = (data as Record<string, unknown>)[key];
  return typeof v === 'string' && v.length > 0 ? v : null;
}

/** The compliance review a large debit opens: one per transfer (per debit event without one). */
export function reviewIdFor(event: ProjectorEvent): string {
  return `review-${dataText(event, 'transferId') ?? event.eventId}`;
}

/** The compliance reference an AccountFrozen of the fraud saga carries: one per detection. */
export function fraudReferenceFor(detectionEventId: string): string {
  return `fraud-${detectionEventId}`;
}
