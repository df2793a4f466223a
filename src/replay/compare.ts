import type { Db, Document } from 'mongodb';
import { diffDocuments, MISSING, PRESENT } from './diff.js';

/**
 * Compares a live collection with the same collection recomputed from event_store, document by
 * document (matched by `_id`): documents the live one lacks, documents it has in excess, and
 * fields that differ. Both sides are read in batches of `_id`s looked up on the other side, so
 * the order the server sorts keys in never matters and memory stays at one batch.
 */
export interface DocumentDifference {
  collection: string;
  id: unknown;
  field: string;
  stored: unknown;
  expected: unknown;
}

export interface CollectionComparison {
  collection: string;
  /** Documents in the recomputed collection. */
  expectedDocuments: number;
  /** Documents that differ, are missing or are in excess. */
  differing: number;
  /** The first `limit` differences, in `_id` order per kind. */
  shown: DocumentDifference[];
}

export const WHOLE_DOCUMENT = '(document)';

export interface CompareOptions {
  db: Db;
  /** The live collection (named in the report). */
  live: string;
  /** Where the recomputed documents are. */
  expected: string;
  ignore: readonly string[];
  /** Differences kept for the report; all are counted. */
  limit: number;
  batchSize?: number;
}

const keyOf = (id: unknown): string =>
  typeof id === 'string' ? `s:${id}` : `j:${JSON.stringify(id)}`;

async function* batches(db: Db, collection: string, size: number, idsOnly: boolean) {
  const cursor = db
    .collection(collection)
    .find({}, idsOnly ? { projection: { _id: 1 } } : {})
    .sort({ _id: 1 })
    .batchSize(size);
  let batch: Document[] = [];
  try {
    for await (const doc of cursor) {
      batch.push(doc);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  } finally {
    await cursor.close();
  }
}

async function lookUp(db: Db, collection: string, ids: unknown[], idsOnly: boolean) {
  const filter: Document = { _id: { $in: ids } };
  const docs = await db
    .collection(collection)
    .find(filter, idsOnly ? { projection: { _id: 1 } } : {})
    .toArray();
  return new Map(docs.map((d) => [keyOf(d._id), d]));
}

export async function compareCollections(o: CompareOptions): Promise<CollectionComparison> {
  const size = o.batchSize ?? 500;
  const result: CollectionComparison = {
    collection: o.live,
    expectedDocuments: 0,
    differing: 0,
    shown: [],
  };
  const report = (id: unknown, field: string, stored: unknown, expected: unknown) => {
    if (result.shown.length < o.limit) {
      result.shown.push({ collection: o.live, id, field, stored, expected });
    }
  };
  for await (const batch of batches(o.db, o.expected, size, false)) {
    result.expectedDocuments += batch.length;
    const live = await lookUp(
      o.db,
      o.live,
      batch.map((d) => d._id as unknown),
      false,
    );
    for (const expected of batch) {
      const stored = live.get(keyOf(expected._id));
      if (!stored) {
        result.differing++;
        report(expected._id, WHOLE_DOCUMENT, MISSING, PRESENT);
        continue;
      }
      const diffs = diffDocuments(stored, expected, o.ignore);
      if (diffs.length > 0) result.differing++;
      for (const d of diffs) report(expected._id, d.field, d.stored, d.expected);
    }
  }
  for await (const batch of batches(o.db, o.live, size, true)) {
    const expected = await lookUp(
      o.db,
      o.expected,
      batch.map((d) => d._id as unknown),
      true,
    );
    for (const stored of batch) {
      if (expected.has(keyOf(stored._id))) continue;
      result.differing++;
      report(stored._id, WHOLE_DOCUMENT, PRESENT, MISSING);
    }
  }
  return result;
}
