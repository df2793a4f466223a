import type { RawEventDocument } from '../events/types.js';
import { toError } from '../lib/errors.js';
import type { UpcasterRegistry } from './upcast.js';
import { validateEnvelope, type Validated } from './validate.js';

/**
 * A raw event_store document as modules see it: envelope validated, then upcast to the current
 * schema of its type. One function for every reader — the live dispatcher, gap repair and
 * dead-letter retries, rebuild/replay/verify — so they can never disagree about an event.
 * A failing upcaster is reported like a bad envelope, naming `eventData`.
 */
export function prepareEvent(raw: RawEventDocument, upcasters: UpcasterRegistry): Validated {
  const v = validateEnvelope(raw);
  if (!v.ok) return v;
  const { event } = v;
  try {
    const up = upcasters.upcast(event.eventType, event.eventVersion, event.eventData);
    // No upcaster ran when the version is unchanged (one that edits the data in place and
    // returns the same object still moves the version).
    if (up.version === event.eventVersion) return v;
    return { ok: true, event: { ...event, eventVersion: up.version, eventData: up.data } };
  } catch (e) {
    return { ok: false, field: 'eventData', message: `upcasting failed: ${toError(e).message}` };
  }
}
