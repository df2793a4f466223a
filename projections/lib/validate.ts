import { canonicalId } from '../../src/events/ids.js';
import type { ProjectorEvent } from '../../src/events/types.js';

/**
 * Field readers for event payloads. Nothing in an event is trusted: every field a module uses is
 * read through one of these, and a missing or mistyped value throws an EventValidationError
 * naming the field (e.g. "eventData.amount") and the rule. The engine dead-letters such an event
 * with the field named (DESIGN.md invariant 7). Values are returned as plain values only: a
 * string like '{"$gt": ""}' stays a string.
 */
export class EventValidationError extends Error {
  readonly code = 'EVENT_VALIDATION';
  /** Path of the offending field, e.g. "eventData.amount" or "eventTimestamp". */
  readonly field: string;

  constructor(field: string, rule: string, value: unknown) {
    super(
      `${field} ${rule}; got ${describe(value)}. Fix the producer of the event; a dead-lettered ` +
        'event can then be skipped with `projectord dlq skip <id>`.',
    );
    this.name = 'EventValidationError';
    this.field = field;
  }
}

/** Recognises an EventValidationError even from another copy of this file (a user's package). */
export function isEventValidationError(e: unknown): e is EventValidationError {
  return (
    e instanceof Error &&
    e.name === 'EventValidationError' &&
    typeof (e as { field?: unknown }).field === 'string'
  );
}

/** Amounts are money: finite, never negative, and bounded so totals stay exact enough. */
export const MAX_AMOUNT = 1e12;
/** Exchange rates: positive and bounded (no currency pair is a million to one). */
export const MAX_EXCHANGE_RATE = 1e6;

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (missing)';
  if (value === null) return 'null';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : 'a Date';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  const bson = bsonType(value);
  if (bson) return `a ${bson} ${(value as { toString(): string }).toString()}`;
  return `a value of type ${typeof value}`;
}

type Data = Readonly<Record<string, unknown>>;

/** The event's payload; an eventData that is not an object is itself the bad field. */
export function dataOf(event: ProjectorEvent): Data {
  const data: unknown = event.eventData;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new EventValidationError('eventData', 'must be an object', data);
  }
  return data as Data;
}

function own(data: Data, key: string): unknown {
  return Object.hasOwn(data, key) ? data[key] : undefined;
}

function bsonType(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const t = (v as { _bsontype?: unknown })._bsontype;
  return typeof t === 'string' ? t : undefined;
}

/**
 * A number as a command side may store it: a JS number (BSON double or int; the article's
 * command side writes these), or a BSON Decimal128, Long, Int32 or Double the driver did not
 * turn into a number. Anything else is returned as is, for the caller to refuse.
 */
export function numberOf(v: unknown): unknown {
  switch (bsonType(v)) {
    case 'Decimal128':
      return Number((v as { toString(): string }).toString());
    case 'Long':
      return (v as { toNumber(): number }).toNumber();
    case 'Int32':
    case 'Double':
      return (v as { valueOf(): number }).valueOf();
    default:
      return v;
  }
}

/** A money amount in [0, 1e12]; absent (or null) gives `fallback` when one is given. */
export function amountField(data: Data, key: string, fallback?: number): number {
  const stored = own(data, key);
  const v = numberOf(stored);
  if ((v === undefined || v === null) && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_AMOUNT) {
    throw new EventValidationError(
      `eventData.${key}`,
      `must be a finite number from 0 to ${MAX_AMOUNT}`,
      stored,
    );
  }
  return v;
}

/** An exchange rate in (0, 1e6]; absent (or null) means 1. */
export function rateField(data: Data, key: string): number {
  const stored = own(data, key);
  const v = numberOf(stored);
  if (v === undefined || v === null) return 1;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > MAX_EXCHANGE_RATE) {
    throw new EventValidationError(
      `eventData.${key}`,
      `must be a finite number above 0 and at most ${MAX_EXCHANGE_RATE}`,
      stored,
    );
  }
  return v;
}

/** A required, non-empty string. */
export function textField(data: Data, key: string): string {
  const v = own(data, key);
  if (typeof v !== 'string' || v.length === 0) {
    throw new EventValidationError(`eventData.${key}`, 'must be a non-empty string', v);
  }
  return v;
}

/** An optional string: absent or null gives null; anything else must be a string. */
export function optionalTextField(
  data: Data,
  key: string,
  path = `eventData.${key}`,
): string | null {
  const v = own(data, key);
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new EventValidationError(path, 'must be a string', v);
  return v;
}

/**
 * A required id (events/ids.ts): a non-empty string or an ObjectId, returned in its canonical
 * form (an ObjectId as its hex), so ids compare and key the same whichever way they were stored.
 */
export function idField(data: Data, key: string, path = `eventData.${key}`): string {
  const v = own(data, key);
  const id = canonicalId(v);
  if (id === undefined) {
    throw new EventValidationError(path, 'must be a non-empty string or an ObjectId', v);
  }
  return id;
}

/** An optional id: absent, null or empty gives null; otherwise as `idField`. */
export function optionalIdField(data: Data, key: string, path = `eventData.${key}`): string | null {
  const v = own(data, key);
  if (v === undefined || v === null || v === '') return null;
  return idField(data, key, path);
}

/** An optional date: a Date or an ISO-8601 string; absent or null gives `fallback`. */
export function optionalDateField(data: Data, key: string, fallback: Date): Date {
  const v = own(data, key);
  if (v === undefined || v === null) return fallback;
  const d = v instanceof Date ? v : typeof v === 'string' ? new Date(v) : undefined;
  if (!d || Number.isNaN(d.getTime())) {
    throw new EventValidationError(
      `eventData.${key}`,
      'must be a Date or an ISO-8601 date string',
      v,
    );
  }
  return d;
}

/** The envelope's business time; every module that stores a time uses it. */
export function eventTime(event: ProjectorEvent): Date {
  const v: unknown = event.eventTimestamp;
  if (!(v instanceof Date) || Number.isNaN(v.getTime())) {
    throw new EventValidationError('eventTimestamp', 'must be a valid Date', v);
  }
  return v;
}

function metadataOf(event: ProjectorEvent): Data | null {
  const meta: unknown = event.eventMetadata;
  return typeof meta === 'object' && meta !== null ? (meta as Data) : null;
}

/** `eventMetadata.sourceIp`, or null. */
export function sourceIpOf(event: ProjectorEvent): string | null {
  return metaTextOf(event, 'sourceIp');
}

/** A text field of `eventMetadata` (e.g. `userAgent`), or null when absent. */
export function metaTextOf(event: ProjectorEvent, key: string): string | null {
  const meta = metadataOf(event);
  return meta ? optionalTextField(meta, key, `eventMetadata.${key}`) : null;
}

/** An id of `eventMetadata` (`correlationId`, `causationId`) in canonical form, or null. */
export function metaIdOf(event: ProjectorEvent, key: string): string | null {
  const meta = metadataOf(event);
  return meta ? optionalIdField(meta, key, `eventMetadata.${key}`) : null;
}

/** `eventMetadata.regulatoryFlags` as a new array of strings ([] when absent). */
export function regulatoryFlagsOf(event: ProjectorEvent): string[] {
  const meta: unknown = event.eventMetadata;
  if (typeof meta !== 'object' || meta === null) return [];
  const v = own(meta as Data, 'regulatoryFlags');
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((f): f is string => typeof f === 'string')) {
    throw new EventValidationError(
      'eventMetadata.regulatoryFlags',
      'must be an array of strings',
      v,
    );
  }
  return [...v];
}
