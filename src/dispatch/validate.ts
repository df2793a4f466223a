import { ObjectId } from 'mongodb';
import type { EventMetadata, ProjectorEvent, RawEventDocument } from '../events/types.js';

/**
 * Checks the envelope of a raw event_store document before any module sees it (DESIGN.md
 * invariant 7). A bad envelope names the field; the raw values are never used in a filter.
 * `eventData` is checked to be an object; its fields are each module's business.
 */
export type Validated =
  { ok: true; event: ProjectorEvent } | { ok: false; field: string; message: string };

export function idString(v: unknown): string | undefined {
  if (typeof v === 'string' && v !== '') return v;
  if (v instanceof ObjectId) return v.toHexString();
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function toDate(v: unknown): Date | undefined {
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v;
  return undefined;
}

const bad = (field: string, message: string): Validated => ({ ok: false, field, message });

export function validateEnvelope(doc: RawEventDocument): Validated {
  const eventId = idString(doc.eventId);
  if (!eventId) return bad('eventId', 'eventId must be a non-empty string or an ObjectId');
  const aggregateId = doc.aggregateId;
  if (typeof aggregateId !== 'string' || aggregateId === '' || aggregateId.length > 512) {
    return bad(
      'aggregateId',
      `aggregateId must be a non-empty string (got ${describe(aggregateId)})`,
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
  if (!isObject(doc.eventData)) {
    return bad('eventData', `eventData must be an object (got ${describe(doc.eventData)})`);
  }
  const eventTimestamp = toDate(doc.eventTimestamp) ?? toDate(doc.storedAt);
  if (!eventTimestamp) return bad('eventTimestamp', 'eventTimestamp must be a date');
  const metadata = isObject(doc.eventMetadata) ? (doc.eventMetadata as EventMetadata) : {};
  const storedAt = toDate(doc.storedAt);
  const commandId = idString(doc.commandId);
  const event: ProjectorEvent = {
    eventId,
    aggregateId,
    aggregateType: typeof doc.aggregateType === 'string' ? doc.aggregateType : '',
    eventType: doc.eventType,
    eventVersion: typeof doc.eventVersion === 'string' ? doc.eventVersion : '1.0',
    version,
    eventTimestamp,
    ...(storedAt ? { storedAt } : {}),
    ...(commandId ? { commandId } : {}),
    eventData: doc.eventData,
    eventMetadata: metadata,
  };
  return { ok: true, event };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return v === '' ? 'an empty string' : 'a string';
  return `${typeof v} ${JSON.stringify(v) ?? ''}`;
}
