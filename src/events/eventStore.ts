import { ObjectId, type Collection, type Db, type Document } from 'mongodb';
import { isDuplicateKeyError, ProjectordError } from '../lib/errors.js';
import type { EventMetadata } from './types.js';

/**
 * The event store as projectord reads and (for reactions, simulate and the compliance CLI)
 * appends to it. Appends use the store's optimistic concurrency: the next `version` of the
 * aggregate, and on a duplicate (aggregateId, version) a re-read and retry. A duplicate
 * `eventId` means the very same event was appended before: reported as `duplicate`, not an error.
 */
export const EVENT_STORE = 'event_store';

export function eventStore(db: Db): Collection<Document> {
  return db.collection(EVENT_STORE);
}

/** The indexes the command side relies on (DOMAIN.md), plus a unique eventId. Idempotent. */
export async function ensureEventStoreIndexes(db: Db): Promise<void> {
  const coll = eventStore(db);
  await coll.createIndex(
    { aggregateId: 1, version: 1 },
    { unique: true, name: 'aggregate_version' },
  );
  await coll.createIndex({ eventId: 1 }, { unique: true, name: 'event_id' });
  await coll.createIndex({ eventTimestamp: 1, _id: 1 }, { name: 'event_timestamp' });
  await coll.createIndex({ eventType: 1, eventTimestamp: 1 }, { name: 'event_type' });
  await coll.createIndex({ aggregateType: 1, eventTimestamp: 1 }, { name: 'aggregate_type' });
  await coll.createIndex(
    { 'eventMetadata.correlationId': 1 },
    { sparse: true, name: 'correlation_id' },
  );
}

export interface AppendInput {
  aggregateId: string;
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

export async function currentVersion(db: Db, aggregateId: string): Promise<number> {
  const last = await eventStore(db)
    .find({ aggregateId: { $eq: aggregateId } }, { projection: { version: 1 } })
    .sort({ version: -1 })
    .limit(1)
    .next();
  return typeof last?.version === 'number' ? last.version : 0;
}

function idString(id: string | ObjectId): string {
  return typeof id === 'string' ? id : id.toHexString();
}

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

function conflict(aggregateId: string, at: number, expected: number): ProjectordError {
  return new ProjectordError(
    'APPEND_CONFLICT',
    `Aggregate ${aggregateId} is at version ${at}, expected ${expected}.`,
  );
}

/**
 * Whether the aggregate's stream holds `version`: a lookup by the unique (aggregateId, version)
 * key with plain values, which every server answers from that index. (An expected version the
 * stream has not reached would otherwise leave a gap.)
 */
async function hasVersion(db: Db, aggregateId: string, version: number): Promise<boolean> {
  if (typeof aggregateId !== 'string') throw new TypeError('aggregateId must be a string');
  const found = await eventStore(db).findOne({ aggregateId, version }, { projection: { _id: 1 } });
  return found !== null;
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
    if (
      expected !== undefined &&
      expected > 0 &&
      !(await hasVersion(db, input.aggregateId, expected))
    )
      throw conflict(input.aggregateId, await currentVersion(db, input.aggregateId), expected);
    const version =
      expected !== undefined ? expected + 1 : (await currentVersion(db, input.aggregateId)) + 1;
    const doc = storedEventDocument({ ...input, eventId }, version, now());
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
          `Could not append ${input.eventType} to ${input.aggregateId} after ${maxRetries + 1} attempts: ` +
            `other writers keep taking the next version.`,
          { cause: e },
        );
      }
    }
  }
}
