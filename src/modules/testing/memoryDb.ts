import { BSON, type Db, type Document } from 'mongodb';
import type { BulkSink } from '../../writer/sink.js';
import type { MemoryStore } from './memoryStore.js';

/**
 * The two ends of the engine that face the read models, served from a MemoryStore:
 *  - a BulkSink that applies the batch writer's bulk operations to it;
 *  - a Db whose collections answer the module context's reads (src/modules/context.ts:
 *    `findOne({_id: {$eq}})` and `find(filter).sort().limit().toArray()`). The context reads
 *    through `Db` directly, so this is the narrowest stand-in that lets reading modules run
 *    unchanged; only the calls the context makes exist, and the cast says so.
 * With `copies`, reads hand out what a server would: the documents after a BSON round trip, so
 * a handler that edits what it read changes nothing stored (the test kit). Without, the stored
 * objects themselves (the benchmarks, whose modules only read).
 */
export const bsonCopy = <T extends Document>(doc: T): T =>
  BSON.deserialize(BSON.serialize(doc)) as T;

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

function order(a: unknown, b: unknown): number {
  const x = a instanceof Date ? a.getTime() : a;
  const y = b instanceof Date ? b.getTime() : b;
  if (x === y) return 0;
  if (x === undefined || x === null) return -1;
  if (y === undefined || y === null) return 1;
  return (x as number) < (y as number) ? -1 : 1;
}

function cursor(docs: Document[], copy: (d: Document) => Document): ReadCursor {
  let out = docs;
  const self: ReadCursor = {
    sort(spec) {
      const keys = Object.entries(spec);
      out = [...out].sort((a, b) => {
        for (const [key, dir] of keys) {
          const c = order(a[key], b[key]);
          if (c !== 0) return c * dir;
        }
        return 0;
      });
      return self;
    },
    limit(n) {
      out = n > 0 ? out.slice(0, n) : out;
      return self;
    },
    toArray: () => Promise.resolve(out.map(copy)),
  };
  return self;
}

export function createMemoryDb(store: MemoryStore, o: { copies?: boolean } = {}): Db {
  const copy = o.copies ? bsonCopy : (d: Document) => d;
  const reader = {
    collection(name: string) {
      return {
        findOne(filter: Document) {
          const id: unknown = (filter._id as { $eq?: unknown } | undefined)?.$eq;
          if (typeof id !== 'string') throw new Error('memory db: findOne by {_id: {$eq}} only');
          const doc = store.findOne(name, id);
          return Promise.resolve(doc ? copy(doc) : null);
        },
        find: (filter: Document) => cursor(store.find(name, filter), copy),
      };
    },
  };
  return reader as unknown as Db;
}
