import type { AnyBulkWriteOperation, Db, Document } from 'mongodb';
import { ownedBy } from './ownership.js';

/**
 * Replaces the documents some aggregates own in a live collection with their recomputed
 * versions: each recomputed document is written over the live one (replace, upsert), then the
 * live documents of those aggregates that the recompute did not produce are deleted. A reader
 * sees each document either old or new, never missing unless the recompute dropped it.
 */
export interface CopyResult {
  replaced: number;
  deleted: number;
}

const keyOf = (id: unknown): string =>
  typeof id === 'string' ? `s:${id}` : `j:${JSON.stringify(id)}`;

export async function copyOwned(o: {
  db: Db;
  from: string;
  to: string;
  aggregateIds: readonly string[];
  batchSize?: number;
}): Promise<CopyResult> {
  const size = o.batchSize ?? 500;
  const owned = ownedBy(o.aggregateIds);
  const live = o.db.collection(o.to);
  const kept = new Set<string>();
  let ops: AnyBulkWriteOperation<Document>[] = [];
  let replaced = 0;
  const flush = async () => {
    if (ops.length === 0) return;
    await live.bulkWrite(ops, { ordered: false });
    replaced += ops.length;
    ops = [];
  };
  for await (const doc of o.db.collection(o.from).find(owned)) {
    kept.add(keyOf(doc._id));
    ops.push({ replaceOne: { filter: { _id: doc._id }, replacement: doc, upsert: true } });
    if (ops.length >= size) await flush();
  }
  await flush();
  const stale: unknown[] = [];
  for await (const doc of live.find(owned, { projection: { _id: 1 } })) {
    if (!kept.has(keyOf(doc._id))) stale.push(doc._id);
  }
  let deleted = 0;
  for (let i = 0; i < stale.length; i += size) {
    const filter: Document = { _id: { $in: stale.slice(i, i + size) } };
    deleted += (await live.deleteMany(filter)).deletedCount;
  }
  return { replaced, deleted };
}
