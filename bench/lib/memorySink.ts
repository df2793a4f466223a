import type { BulkSink } from '../../src/writer/sink.js';

/**
 * A BulkSink that only counts what it is sent: the engine's cost alone, no document built or
 * looked up. (The sink and Db over an in-memory store are the test kit's:
 * src/modules/testing/memoryDb.ts.)
 */
export interface CountingSink extends BulkSink {
  readonly ops: number;
  readonly batches: number;
  readonly byCollection: ReadonlyMap<string, number>;
}

export function createCountingSink(): CountingSink {
  let ops = 0;
  let batches = 0;
  const byCollection = new Map<string, number>();
  return {
    bulkWrite(collection, list) {
      ops += list.length;
      batches++;
      byCollection.set(collection, (byCollection.get(collection) ?? 0) + list.length);
      return Promise.resolve({ errors: [] });
    },
    get ops() {
      return ops;
    },
    get batches() {
      return batches;
    },
    byCollection,
  };
}
