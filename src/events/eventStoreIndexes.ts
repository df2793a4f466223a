import type { Db, Document, IndexDescription } from 'mongodb';
import { mongoErrorCode, ProjectordError, toError } from '../lib/errors.js';
import { within } from '../lib/timeout.js';
import { EVENT_STORE } from './eventStore.js';

/**
 * The indexes of event_store (docs/OPERATIONS.md "What projectord needs from a deployment"):
 * the command side's (DOMAIN.md) plus a unique eventId, which makes reactions' appends
 * idempotent. They are checked before anything is created (issue 15, item 8): an index with the
 * same keys and uniqueness under another name counts (creating it again would fail with
 * IndexOptionsConflict, 85), so a read-only user whose DBA built them gets no error at all. Each
 * missing one is created on its own — one failure does not skip the rest — and each build is
 * waited for at most `timeoutMs` (a build on a large replica set waits for every voting member;
 * it goes on on the server). What could not be created is reported with the fix.
 */
export const EVENT_STORE_INDEXES: readonly (IndexDescription & { name: string })[] = [
  { key: { aggregateId: 1, version: 1 }, unique: true, name: 'aggregate_version' },
  { key: { eventId: 1 }, unique: true, name: 'event_id' },
  { key: { eventTimestamp: 1, _id: 1 }, name: 'event_timestamp' },
  { key: { eventType: 1, eventTimestamp: 1 }, name: 'event_type' },
  { key: { aggregateType: 1, eventTimestamp: 1 }, name: 'aggregate_type' },
  { key: { 'eventMetadata.correlationId': 1 }, sparse: true, name: 'correlation_id' },
];

export interface IndexReport {
  /** Wanted indexes present, by our name, with the name they have in the store. */
  present: Map<string, string>;
  created: string[];
  failed: { name: string; message: string }[];
}

const sameKey = (a: Document, b: Document) => JSON.stringify(a) === JSON.stringify(b);

/** The index of `existing` equivalent to `wanted` (same keys in order, same uniqueness). */
function equivalent(existing: readonly Document[], wanted: IndexDescription): Document | undefined {
  return existing.find(
    (ix) => sameKey(ix.key as Document, wanted.key as Document) && !!ix.unique === !!wanted.unique,
  );
}

async function listIndexes(db: Db): Promise<Document[]> {
  try {
    return (await db.collection(EVENT_STORE).listIndexes().toArray()) as Document[];
  } catch (e) {
    if (mongoErrorCode(e) === 26) return []; // NamespaceNotFound: no event_store yet
    throw e;
  }
}

function failure(db: Db, ix: IndexDescription & { name: string }, e: unknown): string {
  const how = `db.${EVENT_STORE}.createIndex(${JSON.stringify(ix.key)}${ix.unique ? ', { unique: true }' : ''})`;
  const code = mongoErrorCode(e);
  if (code === 13) {
    return `the user lacks the createIndex privilege on ${db.databaseName}.${EVENT_STORE}: create it as an administrator with ${how}`;
  }
  if (code === 85 || code === 86) {
    return `an index with the same keys but other options exists (${toError(e).message}): make it ${ix.unique ? 'unique' : 'match'}, or create ${how}`;
  }
  return `${toError(e).message}; create it with ${how}`;
}

export async function ensureEventStoreIndexes(
  db: Db,
  opts: { timeoutMs?: number } = {},
): Promise<IndexReport> {
  const existing = await listIndexes(db);
  const report: IndexReport = { present: new Map(), created: [], failed: [] };
  for (const ix of EVENT_STORE_INDEXES) {
    const found = equivalent(existing, ix);
    if (found) {
      report.present.set(ix.name, String(found.name));
      continue;
    }
    try {
      await within(
        db.collection(EVENT_STORE).createIndexes([ix]),
        opts.timeoutMs ?? 0,
        `building index ${ix.name} on ${EVENT_STORE} (it goes on on the server)`,
      );
      report.created.push(ix.name);
      report.present.set(ix.name, ix.name);
    } catch (e) {
      report.failed.push({ name: ix.name, message: failure(db, ix, e) });
    }
  }
  return report;
}

/**
 * Reactions append events with deterministic ids and count a duplicate eventId as "appended
 * before": without the unique index a repeat would store the event twice, silently.
 */
export function requireUniqueEventId(report: IndexReport, reactions: readonly string[]): void {
  if (reactions.length === 0 || report.present.has('event_id')) return;
  const why = report.failed.find((f) => f.name === 'event_id')?.message ?? 'it is missing';
  throw new ProjectordError(
    'EVENT_ID_INDEX_MISSING',
    `Reactions (${reactions.join(', ')}) need a unique index on ${EVENT_STORE}.eventId, or a ` +
      `repeated append would store an event twice; it could not be created: ${why}. Create it, ` +
      'or run without these reactions (modules.enabled).',
    { exitCode: 2 },
  );
}

/** For writers of event_store (simulate, the test kit): every index, or an error naming each. */
export async function requireEventStoreIndexes(db: Db, opts: { timeoutMs?: number } = {}) {
  const report = await ensureEventStoreIndexes(db, opts);
  if (report.failed.length === 0) return;
  throw new ProjectordError(
    'EVENT_STORE_INDEXES',
    `Could not create the indexes of ${EVENT_STORE}: ` +
      report.failed.map((f) => `${f.name}: ${f.message}`).join('; '),
  );
}
