import type { Db, Document } from 'mongodb';
import type { BulkSink } from '../../src/writer/sink.js';
import type { MemoryStore } from './memoryStore.js';

/**
 * The two ends of the engine that face MongoDB, served from memory for the in-process
 * benchmarks:
 *  - a BulkSink that only counts what it is sent (the engine's cost alone: no document is
 *    built or looked up), or one that applies the batches to a MemoryStore;
 *  - a Db whose collections answer `findOne`/`find` from the same MemoryStore. The module
 *    context reads through `Db` directly (src/modules/context.ts), so this is the narrowest
 *    stand-in that lets reading modules run unchanged; only the two calls the context makes
 *    are implemented, and the cast says so.
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

export function createStoreSink(store: MemoryStore): BulkSink {
  return {
    bulkWrite: (collection, ops) => Promise.resolve({ errors: store.bulkWrite(collection, ops) }),
  };
}

interface ReadCursor {
  sort(spec: Record<string, 1 | -1>): ReadCursor;
  limit(n: number): ReadCursor;
  toArray(): Promise<Document[]>;
}

function cursor(docs: Document[]): ReadCursor {
  let out = docs;
  const self: ReadCursor = {
    sort(spec) {
      const [[key, dir] = ['_id', 1]] = Object.entries(spec);
      out = [...out].sort((a, b) => (a[key] < b[key] ? -dir : a[key] > b[key] ? dir : 0));
      return self;
    },
    limit(n) {
      out = out.slice(0, n);
      return self;
    },
    toArray: () => Promise.resolve(out),
  };
  return self;
}

export function createMemoryDb(store: MemoryStore): Db {
  const reader = {
    collection(name: string) {
      return {
        findOne(filter: Document) {
          const id: unknown = (filter._id as { $eq?: unknown } | undefined)?.$eq;
          if (typeof id !== 'string') throw new Error('memory db: findOne by {_id: {$eq}} only');
          return Promise.resolve(store.findOne(name, id));
        },
        find: (filter: Document) => cursor(store.find(name, filter)),
      };
    },
  };
  return reader as unknown as Db;
}
