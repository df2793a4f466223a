import { canonicalId } from '../events/ids.js';
import type { EventMetadata, ProjectorEvent, RawEventDocument } from '../events/types.js';

/**
 * Checks the envelope of a raw event_store document before any module sees it (DESIGN.md
 * invariant 7). A bad envelope names the field; the raw values are never used in a filter.
 * `eventData` is checked to be an object; its fields are each module's business.
 *
 * Ids come in the canonical form of events/ids.ts: `eventId`, `aggregateId`, `commandId` and
 * `eventMetadata.correlationId` / `causationId` may each be stored as a string or an ObjectId
 * (the article's command side writes ObjectIds) and reach modules as strings. Metadata fields a
 * command side left `undefined` are stored as null by the driver's defaults: they reach modules
 * absent, as the command side meant.
 */
export type Validated =
  { ok: true; event: ProjectorEvent } | { ok: false; field: string; message: string };

/** An id as text (events/ids.ts canonicalId): kept under this name for its many readers. */
export const idString = canonicalId;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function toDate(v: unknown): Date | undefined {
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v;
  return undefined;
}

const bad = (field: string, message: string): Validated => ({ ok: false, field, message });

/** `eventVersion`: "1.0" when absent; a number a command side wrote (1, 2.5) as "1.0", "2.5". */
function schemaVersion(v: unknown): string | undefined {
  if (v === undefined || v === null) return '1.0';
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) {
    return Number.isInteger(v) ? v.toFixed(1) : String(v);
  }
  return undefined;
}

const METADATA_IDS = ['correlationId', 'causationId'] as const;
const isMetadataId = (k: string) => k === 'correlationId' || k === 'causationId';

/**
 * The metadata as modules see it: null and undefined fields left out, correlation and causation
 * ids canonical. The stored object is reused when there is nothing to change (the hot path).
 */
function metadataOf(raw: unknown): EventMetadata {
  if (!isObject(raw)) return {};
  let changed = false;
  for (const k in raw) {
    const v = raw[k];
    if (v === null || v === undefined || (isMetadataId(k) && typeof v !== 'string')) {
      changed = true;
      break;
    }
  }
  if (!changed) return raw;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v !== null && v !== undefined) out[k] = v;
  }
  for (const k of METADATA_IDS) {
    const id = canonicalId(out[k]);
    if (id !== undefined) out[k] = id;
  }
  return out;
}

export function validateEnvelope(doc: RawEventDocument): Validated {
  const eventId = canonicalId(doc.eventId);
  if (!eventId) return bad('eventId', 'eventId must be a non-empty string or an ObjectId');
  const aggregateId = canonicalId(doc.aggregateId);
  if (aggregateId === undefined || aggregateId.length > 512) {
    return bad(
      'aggregateId',
      `aggregateId must be a non-empty string of at most 512 characters or an ObjectId ` +
        `(got ${describe(doc.aggregateId)})`,
    );
  }
  const version = doc.version;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    return bad('version', `version must be a positive integer (got ${describe(version)})`);
  }
  if (typeof doc.eventType !== 'string' || doc.eventType === '') {
    return bad(
      'eventType',
      `eventType must be a non-empty string (got ${describe(doc.eventType)})`,
    );
  }
  const eventVersion = schemaVersion(doc.eventVersion);
  if (eventVersion === undefined) {
    return bad(
      'eventVersion',
      `eventVersion must be a schema version like "1.0" (got ${describe(doc.eventVersion)})`,
    );
  }
  if (!isObject(doc.eventData)) {
    return bad('eventData', `eventData must be an object (got ${describe(doc.eventData)})`);
  }
  const eventTimestamp = toDate(doc.eventTimestamp) ?? toDate(doc.storedAt);
  if (!eventTimestamp) return bad('eventTimestamp', 'eventTimestamp must be a date');
  const storedAt = toDate(doc.storedAt);
  const commandId = canonicalId(doc.commandId);
  const event: ProjectorEvent = {
    eventId,
    aggregateId,
    aggregateType: typeof doc.aggregateType === 'string' ? doc.aggregateType : '',
    eventType: doc.eventType,
    eventVersion,
    version,
    eventTimestamp,
    ...(storedAt ? { storedAt } : {}),
    ...(commandId ? { commandId } : {}),
    eventData: doc.eventData,
    eventMetadata: metadataOf(doc.eventMetadata),
  };
  return { ok: true, event };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing (missing)';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return 'a Date';
  if (typeof v === 'object') {
    const type = (v as { _bsontype?: unknown })._bsontype;
    return typeof type === 'string' ? `a ${type}` : 'an object';
  }
  if (typeof v === 'string') return v === '' ? 'an empty string' : 'a string';
  return `${typeof v} ${JSON.stringify(v) ?? ''}`;
}
