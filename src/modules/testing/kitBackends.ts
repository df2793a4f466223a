import { randomBytes } from 'node:crypto';
import { MongoClient, type Db, type Document } from 'mongodb';
import type { PipelineDeps } from '../../dispatch/pipeline.js';
import type { UpcasterRegistry } from '../../dispatch/upcast.js';
import { requireEventStoreIndexes, eventStore } from '../../events/eventStore.js';
import type { RawEventDocument } from '../../events/types.js';
import { createEventFetcher } from '../../lifecycle/fetcher.js';
import { createEventAppender } from '../../reactions/append.js';
import {
  createDeadlineStore,
  SAGA_DEADLINES,
  type DeadlineStore,
  type StoredDeadline,
} from '../../reactions/deadlines.js';
import { createMongoSink, type BulkSink } from '../../writer/sink.js';
import type { ReactionServices } from '../context.js';
import { bsonCopy, createMemoryDb, createStoreSink } from './memoryDb.js';
import { createMemoryDeadlineStore } from './memoryDeadlines.js';
import { createMemoryEventStore } from './memoryEventStore.js';
import { createMemoryStore } from './memoryStore.js';

/**
 * Where the module test kit keeps its data: in memory (the default), or in a fresh database on
 * a MongoDB server. Either way the engine in front is the same (engine.ts); a backend gives it
 * the stores — read models (sink and reads), event_store (appends, readStream, gap repair) and
 * saga_deadlines — and reads back what ended up there.
 */
export interface KitBackend {
  readonly db: Db;
  readonly sink: BulkSink;
  readonly fetch: PipelineDeps['fetch'];
  readonly reactions: ReactionServices;
  readonly deadlines: DeadlineStore;
  /** Stores command-side events in order; returns them as stored (what the stream delivers). */
  insert(events: readonly RawEventDocument[]): Promise<RawEventDocument[]>;
  /** Events reactions appended since the last call, as stored, in order. */
  takeAppended(): Promise<RawEventDocument[]>;
  /** Every event reactions appended (those taken so far), in order. */
  appended(): Promise<RawEventDocument[]>;
  /** A collection's documents, sorted by `_id`. */
  docs(collection: string): Promise<Document[]>;
  scheduled(): Promise<StoredDeadline[]>;
  close(): Promise<void>;
}

export interface BackendOptions {
  upcasters: UpcasterRegistry;
  now(): Date;
}

const byId = (a: Document, b: Document): number =>
  String(a._id) < String(b._id) ? -1 : String(a._id) > String(b._id) ? 1 : 0;

export function createMemoryBackend(o: BackendOptions): KitBackend {
  const store = createMemoryStore();
  const events = createMemoryEventStore({ upcasters: o.upcasters, now: o.now, copies: true });
  const deadlines = createMemoryDeadlineStore(o.now);
  const taken: RawEventDocument[] = [];
  return {
    db: createMemoryDb(store, { copies: true }),
    sink: createStoreSink(store),
    fetch: events.fetch,
    reactions: {
      append: events.append,
      readStream: events.readStream,
      schedule: (module, d) => deadlines.schedule(module, d),
      cancel: (module, id) => deadlines.cancel(module, id),
    },
    deadlines,
    insert: (list) => Promise.resolve(list.map((raw) => events.insert(raw))),
    takeAppended() {
      const more = events.takeAppended();
      taken.push(...more);
      return Promise.resolve(more);
    },
    appended: () => Promise.resolve(taken.map(bsonCopy)),
    docs: (collection) => Promise.resolve([...store.docs(collection)].map(bsonCopy).sort(byId)),
    scheduled: () => Promise.resolve(deadlines.all()),
    close: () => Promise.resolve(),
  };
}

/** A database of its own (`dbName`, or a fresh name dropped on close) on the server at `uri`. */
export async function createMongoBackend(
  o: BackendOptions & { uri: string; dbName?: string },
): Promise<KitBackend> {
  const client = new MongoClient(o.uri, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  const owned = o.dbName === undefined;
  const db = client.db(o.dbName ?? `projectord_test_${randomBytes(6).toString('hex')}`);
  await requireEventStoreIndexes(db);
  const appender = createEventAppender({ db, now: o.now });
  const deadlines = createDeadlineStore(db, o.now);
  const fetcher = createEventFetcher(db, o.upcasters);
  let appendedIds: string[] = [];
  const taken: RawEventDocument[] = [];
  return {
    db,
    sink: createMongoSink(db),
    fetch: fetcher,
    reactions: {
      async append(cause, module, e) {
        const result = await appender.append(cause, module, e);
        if (result.ok && !result.duplicate) appendedIds.push(result.eventId);
        return result;
      },
      readStream: (aggregateId, filter) => fetcher.stream(aggregateId, filter),
      schedule: (module, d) => deadlines.schedule(module, d),
      cancel: (module, id) => deadlines.cancel(module, id),
    },
    deadlines,
    async insert(list) {
      if (list.length === 0) return [];
      const { insertedIds } = await eventStore(db).insertMany(list.map((raw) => ({ ...raw })));
      const ids = list.flatMap((_, i) => (insertedIds[i] === undefined ? [] : [insertedIds[i]]));
      const stored = await eventStore(db)
        .find({ _id: { $in: ids } })
        .toArray();
      const byKey = new Map(stored.map((d) => [String(d._id), d]));
      return ids.map((id) => byKey.get(String(id)) ?? {});
    },
    async takeAppended() {
      const ids = appendedIds;
      appendedIds = [];
      if (ids.length === 0) return [];
      const docs = await eventStore(db)
        .find({ eventId: { $in: ids } })
        .toArray();
      const more = ids.flatMap((id) => docs.filter((d) => d.eventId === id));
      taken.push(...more);
      return more;
    },
    appended: () => Promise.resolve([...taken]),
    docs: async (collection) => (await db.collection(collection).find({}).toArray()).sort(byId),
    scheduled: () => db.collection<StoredDeadline>(SAGA_DEADLINES).find({}).toArray(),
    async close() {
      if (owned) await db.dropDatabase().catch(() => undefined);
      await client.close();
    },
  };
}
