import { MongoBulkWriteError, type AnyBulkWriteOperation, type Db } from 'mongodb';
import type { ReadModelDoc } from './intents.js';

/**
 * Where batches go. The MongoDB sink runs one unordered bulkWrite per collection and maps the
 * per-operation errors back by index; a failure of the whole call (network, stepdown) rejects.
 * The benchmarks use an in-memory sink with the same interface.
 */
export interface OpError {
  index: number;
  code: number | undefined;
  message: string;
}

export interface BulkSink {
  bulkWrite(
    collection: string,
    ops: AnyBulkWriteOperation<ReadModelDoc>[],
  ): Promise<{ errors: OpError[] }>;
}

export function createMongoSink(db: Db): BulkSink {
  return {
    async bulkWrite(collection, ops) {
      try {
        await db.collection<ReadModelDoc>(collection).bulkWrite(ops, { ordered: false });
        return { errors: [] };
      } catch (e) {
        if (!(e instanceof MongoBulkWriteError)) throw e;
        const list: unknown = e.writeErrors;
        const raw = (Array.isArray(list) ? list : [list]) as {
          index: number;
          code?: number;
          errmsg?: string;
        }[];
        if (raw.length === 0) throw e;
        return {
          errors: raw.map((w) => ({
            index: w.index,
            code: w.code,
            message: w.errmsg ?? e.message,
          })),
        };
      }
    },
  };
}
