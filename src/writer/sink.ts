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

/**
 * The write concern of a bulk write was not satisfied (`writeConcernError` in the reply, with or
 * without per-op errors): the ops that did apply are not known to be durable, so the whole batch
 * fails and is retried (source/errors.ts classifies it by its code: 79 and 100 are configuration
 * errors, anything else is retried).
 */
export class WriteConcernFailedError extends Error {
  readonly code: number | undefined;
  constructor(collection: string, code: number | undefined, message: string) {
    super(`${collection}: write concern not satisfied: ${message}`);
    this.name = 'WriteConcernFailedError';
    this.code = code;
  }
}

export function createMongoSink(db: Db): BulkSink {
  return {
    async bulkWrite(collection, ops) {
      try {
        await db.collection<ReadModelDoc>(collection).bulkWrite(ops, { ordered: false });
        return { errors: [] };
      } catch (e) {
        if (!(e instanceof MongoBulkWriteError)) throw e;
        // The driver reports per-op errors first and keeps the write concern error in the
        // result, where it is easy to miss.
        const wce = e.result.getWriteConcernError();
        if (wce) throw new WriteConcernFailedError(collection, wce.code, wce.errmsg ?? e.message);
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
