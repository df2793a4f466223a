import { ObjectId, type Collection, type Db, type Document } from 'mongodb';
import { isDuplicateKeyError, ProjectordError } from '../lib/errors.js';
import { canonicalId, idMatch, type StoredId } from './ids.js';
import type { EventMetadata } from './types.js';

/**
 * The event store as projectord reads and (for reactions, simulate and the compliance CLI)
 * appends to it. Appends use the store's optimistic concurrency: the next `version` of the
 * aggregate, and on a duplicate (aggregateId, version) a re-read and retry. A duplicate
 * `eventId` means the very same event was appended before: reported as `duplicate`, not an error.
 * An aggregate is named by its canonical id (events/ids.ts) and appended to under the form its
 * stream is stored with: a stream of ObjectId aggregateIds stays one stream, for the unique
 * (aggregateId, version) index and for the command side that reads it back.
 */
export const EVENT_STORE = 'event_store';

export function eventStore(db: Db): Collection<Document> {
  return db.collection(EVENT_STORE);
}

export { ensureEventStoreIndexes, requireEventStoreIndexes } from './eventStoreIndexes.js';

export interface AppendInput {
  /** Canonical (a string) or as stored; a string is stored in the form the stream already has. */
  aggregateId: StoredId;
  aggregateType: string;
  eventType: string;
  eventVersion?: string;
  eventData: Document;
  eventMetadata?: EventMetadata;
  /** Deterministic id for idempotent appends; a new ObjectId when absent. */
  eventId?: string | ObjectId;
  commandId?: string | ObjectId;
  eventTimestamp?: Date;
}

export interface AppendOptions {
  /** Fail instead of retrying when the aggregate is not at this version. */
  expectedVersion?: number;
  maxRetries?: number;
  now?: () => Date;
}

export interface Appended {
  eventId: string;
  version: number;
  duplicate: boolean;
}

interface StreamTail {
  version: number;
  /** The aggregateId as the stream stores it (undefined: the stream is empty). */
  stored?: StoredId;
}

const asStored = (v: unknown): StoredId | undefined =>
  canonicalId(v) === undefined ? undefined : (v as StoredId);

async function streamTail(db: Db, aggregateId: StoredId): Promise<StreamTail> {
  const last = await eventStore(db)
    .find({ aggregateId: idOf(aggregateId) }, { projection: { version: 1, aggregateId: 1 } })
    .sort({ version: -1 })
    .limit(1)
    .next();
  if (typeof last?.version !== 'number') return { version: 0 };
  const stored = asStored(last.aggregateId);
  return stored === undefined ? { version: last.version } : { version: last.version, stored };
}

export async function currentVersion(db: Db, aggregateId: StoredId): Promise<number> {
  return (await streamTail(db, aggregateId)).version;
}

/** The query operand of an aggregate: an ObjectId as itself, a string in either stored form. */
function idOf(aggregateId: StoredId) {
  return typeof aggregateId === 'string' ? idMatch(aggregateId) : { $eq: aggregateId };
}

const idString = (id: StoredId): string => canonicalId(id) ?? String(id);

/** The document an append stores (DOMAIN.md "The event store"), stamped `at`. */
export function storedEventDocument(input: AppendInput, version: number, at: Date): Document {
  return {
    eventId: input.eventId ?? new ObjectId(),
    aggregateId: input.aggregateId,
    aggregateType: input.aggregateType,
    eventType: input.eventType,
    eventVersion: input.eventVersion ?? '1.0',
    version,
    eventTimestamp: input.eventTimestamp ?? at,
    storedAt: at,
    commandId: input.commandId ?? new ObjectId(),
    eventData: input.eventData,
    eventMetadata: input.eventMetadata ?? {},
  };
}

function conflict(aggregateId: StoredId, at: number, expected: number): ProjectordError {
  return new ProjectordError(
    'APPEND_CONFLICT',
    `Aggregate ${idString(aggregateId)} is at version ${at}, expected ${expected}.`,
  );
}

/**
 * The event at `version` of the aggregate's stream, if any: a lookup by the unique
 * (aggregateId, version) key with plain values, which every server answers from that index. (An
 * expected version the stream has not reached would otherwise leave a gap.) Returns how that
 * event stores the aggregateId.
 */
async function atVersion(
  db: Db,
  aggregateId: StoredId,
  version: number,
): Promise<{ stored: StoredId | undefined } | undefined> {
  const found = await eventStore(db).findOne(
    { aggregateId: idOf(aggregateId), version },
    { projection: { aggregateId: 1 } },
  );
  return found ? { stored: asStored(found.aggregateId) } : undefined;
}

/** Where the next event goes: its version and the stream's stored aggregateId. */
async function nextSlot(
  db: Db,
  input: AppendInput,
  expected: number | undefined,
): Promise<{ version: number; aggregateId: StoredId }> {
  const given = input.aggregateId;
  if (expected === undefined) {
    const tail = await streamTail(db, given);
    return { version: tail.version + 1, aggregateId: tail.stored ?? given };
  }
  if (expected === 0) return { version: 1, aggregateId: given };
  const found = await atVersion(db, given, expected);
  if (!found) throw conflict(given, await currentVersion(db, given), expected);
  return { version: expected + 1, aggregateId: found.stored ?? given };
}

export async function appendEvent(
  db: Db,
  input: AppendInput,
  opts: AppendOptions = {},
): Promise<Appended> {
  const coll = eventStore(db);
  const eventId = input.eventId ?? new ObjectId();
  const now = opts.now ?? (() => new Date());
  const maxRetries = opts.maxRetries ?? 10;
  for (let attempt = 0; ; attempt++) {
    // With an expected version the unique (aggregateId, version) index is the check: insert at
    // the next version and let a rival's event there refuse it. No read of the stream first.
    const expected = opts.expectedVersion;
    const { version, aggregateId } = await nextSlot(db, input, expected);
    const doc = storedEventDocument({ ...input, aggregateId, eventId }, version, now());
    try {
      await coll.insertOne(doc);
      return { eventId: idString(eventId), version, duplicate: false };
    } catch (e) {
      if (!isDuplicateKeyError(e)) throw e;
      const existing = await coll.findOne(
        { eventId: { $eq: eventId } },
        { projection: { version: 1 } },
      );
      if (existing) {
        return { eventId: idString(eventId), version: Number(existing.version), duplicate: true };
      }
      if (expected !== undefined)
        throw conflict(input.aggregateId, await currentVersion(db, input.aggregateId), expected);
      if (attempt >= maxRetries) {
        throw new ProjectordError(
          'APPEND_CONTENDED',
          `Could not append ${input.eventType} to ${idString(input.aggregateId)} after ${maxRetries + 1} attempts: ` +
            `other writers keep taking the next version.`,
          { cause: e },
        );
      }
    }
  }
}
