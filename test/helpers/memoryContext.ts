import type { Document } from 'mongodb';
import type { EventData, ProjectorEvent } from '../../src/events/types.js';
import type {
  GuardedUpdate,
  ProjectionContext,
  ProjectionDefinition,
  Scalar,
} from '../../src/modules/types.js';
import { silentLogger } from '../../src/observability/logger.js';

/**
 * An in-memory stand-in for the engine's projection context, for unit tests of handler logic
 * (never a mock of the MongoDB driver). It keeps the contract of src/modules/types.ts:
 *  - a handler's writes are intents, applied only after it returns; a throwing handler writes
 *    nothing, and `findOne` never sees the current event's own writes;
 *  - `upsert` applies only when the stored `version` is lower than the event's (a document
 *    without a numeric version counts as applied, like the duplicate key the real guard gets),
 *    then stores the event's version; `insertOnce` skips an existing `_id`; `incrementOnce`
 *    applies once per (document, aggregate, version), with the marker under `applied`;
 *  - reads and writes of a collection the module does not declare throw;
 *  - a field in two update sections throws, as MongoDB's "would create a conflict" does.
 * Keys are stored verbatim and `.` in an update key is not a path: the writer's escaping and
 * dotted paths are the writer's own tests' business.
 */
type Doc = Record<string, unknown> & { _id: string };

export type MemoryWrite =
  | { op: 'upsert'; collection: string; id: string; update: GuardedUpdate }
  | { op: 'insertOnce'; collection: string; id: string; doc: Doc }
  | {
      op: 'incrementOnce';
      collection: string;
      id: string;
      inc: Record<string, number>;
      set?: Document;
    };

export interface ApplyOptions {
  /** Which of the event's writes land (simulates a crash mid-batch); default: all. */
  land?: (write: MemoryWrite, index: number) => boolean;
}

export interface MemoryStore {
  /** Runs the module's handler for one event and commits its writes. */
  apply(
    module: ProjectionDefinition,
    event: ProjectorEvent,
    opts?: ApplyOptions,
  ): Promise<MemoryWrite[]>;
  applyAll(module: ProjectionDefinition, events: readonly ProjectorEvent[]): Promise<void>;
  get(collection: string, id: string): Doc | undefined;
  all(collection: string): Doc[];
  /** A deep copy of every collection, for "nothing changed" assertions. */
  dump(): Record<string, Doc[]>;
}

export interface MemoryStoreOptions {
  settings?: Readonly<Record<string, unknown>>;
  now?: () => Date;
}

/** Deep copy as the writer stores values: undefined dropped, non-finite numbers become null. */
function plain(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Date) return new Date(v.getTime());
  if (Array.isArray(v)) return v.map(plain);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = plain(x);
  return out;
}
const copy = <T>(v: T): T => plain(v) as T;

function compare(a: unknown, b: unknown): number {
  const x = a instanceof Date ? a.getTime() : a;
  const y = b instanceof Date ? b.getTime() : b;
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'string' && typeof y === 'string') return x < y ? -1 : x > y ? 1 : 0;
  throw new TypeError(`memory context cannot compare ${String(a)} with ${String(b)}`);
}

function checkUpdate(u: GuardedUpdate): void {
  const seen = new Set<string>(['version']);
  const set = new Set(Object.keys(u.set ?? {}));
  const sections = { set: u.set, inc: u.inc, max: u.max, min: u.min, push: u.push };
  const onInsert = Object.keys(u.setOnInsert ?? {}).filter((k) => !set.has(k));
  for (const [name, keys] of [
    ...Object.entries(sections).map(([n, s]) => [n, Object.keys(s ?? {})] as const),
    ['setOnInsert', onInsert] as const,
  ]) {
    for (const k of keys) {
      if (k.includes('.')) throw new Error(`memory context: dotted update key "${k}" not modelled`);
      if (seen.has(k)) throw new Error(`update conflict: "${k}" appears twice (${name})`);
      seen.add(k);
    }
  }
  for (const [k, n] of Object.entries(u.inc ?? {})) {
    if (!Number.isFinite(n)) throw new TypeError(`increment "${k}" must be a finite number`);
  }
}

function applyUpdate(doc: Doc, u: GuardedUpdate, inserting: boolean): void {
  if (inserting) Object.assign(doc, copy(u.setOnInsert ?? {}));
  Object.assign(doc, copy(u.set ?? {}));
  for (const [k, n] of Object.entries(u.inc ?? {})) {
    const cur = doc[k] ?? 0;
    if (typeof cur !== 'number') throw new TypeError(`cannot $inc non-number field "${k}"`);
    doc[k] = cur + n;
  }
  for (const [k, v] of Object.entries(u.max ?? {})) {
    if (doc[k] === undefined || compare(v, doc[k]) > 0) doc[k] = copy(v);
  }
  for (const [k, v] of Object.entries(u.min ?? {})) {
    if (doc[k] === undefined || compare(v, doc[k]) < 0) doc[k] = copy(v);
  }
  for (const [k, v] of Object.entries(u.push ?? {})) {
    const cur = doc[k] ?? [];
    if (!Array.isArray(cur)) throw new TypeError(`cannot $push to non-array field "${k}"`);
    doc[k] = [...(cur as unknown[]), copy(v)];
  }
}

export function createMemoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const data = new Map<string, Map<string, Doc>>();
  const coll = (name: string): Map<string, Doc> => {
    let c = data.get(name);
    if (!c) data.set(name, (c = new Map<string, Doc>()));
    return c;
  };

  function commit(w: MemoryWrite, event: ProjectorEvent): void {
    const c = coll(w.collection);
    const existing = c.get(w.id);
    if (w.op === 'insertOnce') {
      if (!existing) c.set(w.id, copy(w.doc));
    } else if (w.op === 'upsert') {
      if (existing && !(typeof existing.version === 'number' && existing.version < event.version)) {
        return;
      }
      const doc: Doc = existing ? copy(existing) : { _id: w.id };
      applyUpdate(doc, w.update, !existing);
      doc.version = event.version;
      c.set(w.id, doc);
    } else {
      const doc: Doc = existing ? copy(existing) : { _id: w.id };
      const applied = (doc.applied ?? {}) as Record<string, number>;
      const marker = applied[event.aggregateId];
      if (marker !== undefined && marker >= event.version) return;
      applyUpdate(doc, { inc: w.inc, set: w.set }, !existing);
      doc.applied = { ...applied, [event.aggregateId]: event.version };
      c.set(w.id, doc);
    }
  }

  function context(module: ProjectionDefinition, writes: MemoryWrite[]): ProjectionContext {
    const own = (collection: string, what: string): void => {
      if (!module.collections.includes(collection)) {
        throw new Error(`module ${module.name} ${what} undeclared collection "${collection}"`);
      }
    };
    return {
      moduleName: module.name,
      logger: silentLogger(),
      signal: new AbortController().signal,
      settings: options.settings ?? {},
      now: options.now ?? (() => new Date()),
      findOne<T extends Document = Document>(collection: string, id: string) {
        own(collection, 'read');
        const doc = coll(collection).get(id);
        return Promise.resolve(doc ? (copy(doc) as unknown as T) : null);
      },
      find<T extends Document = Document>(
        collection: string,
        filter: Record<string, Scalar>,
        opts: { limit?: number; sort?: Record<string, 1 | -1> } = {},
      ) {
        own(collection, 'read');
        const docs = [...coll(collection).values()].filter((d) =>
          Object.entries(filter).every(([k, v]) =>
            v instanceof Date ? d[k] instanceof Date && compare(d[k], v) === 0 : d[k] === v,
          ),
        );
        const sort = Object.entries(opts.sort ?? {});
        docs.sort((a, b) => {
          for (const [k, dir] of sort) {
            const c = compare(a[k], b[k]);
            if (c !== 0) return c * dir;
          }
          return 0;
        });
        return Promise.resolve(
          docs.slice(0, opts.limit ?? docs.length).map(copy) as unknown as T[],
        );
      },
      upsert(collection, id, update) {
        own(collection, 'wrote to');
        checkUpdate(update);
        writes.push({ op: 'upsert', collection, id, update: copy(update) });
      },
      insertOnce(collection, doc) {
        own(collection, 'wrote to');
        writes.push({ op: 'insertOnce', collection, id: doc._id, doc: copy(doc) });
      },
      incrementOnce(collection, id, inc, set) {
        own(collection, 'wrote to');
        checkUpdate({ inc, set });
        writes.push({ op: 'incrementOnce', collection, id, inc: copy(inc), set: copy(set) });
      },
    };
  }

  const store: MemoryStore = {
    async apply(module, event, opts = {}) {
      if (!module.handles.includes(event.eventType)) {
        throw new Error(`module ${module.name} does not handle ${event.eventType}`);
      }
      const writes: MemoryWrite[] = [];
      await module.apply(event, context(module, writes));
      const land = opts.land ?? (() => true);
      writes.forEach((w, i) => {
        if (land(w, i)) commit(w, event);
      });
      return writes;
    },
    async applyAll(module, events) {
      for (const e of events) await store.apply(module, e);
    },
    get: (collection, id) => {
      const doc = data.get(collection)?.get(id);
      return doc ? copy(doc) : undefined;
    },
    all: (collection) => [...(data.get(collection)?.values() ?? [])].map(copy),
    dump: () => Object.fromEntries([...data].map(([name, c]) => [name, [...c.values()].map(copy)])),
  };
  return store;
}

/**
 * Events of one aggregate in order: each call gives the next version, a fresh eventId and a
 * timestamp one minute after the previous one. `over` replaces envelope fields, and may hold
 * deliberately wrong values (bad-input tests).
 */
export type EventOverrides = { [K in keyof ProjectorEvent]?: unknown };

export function eventStream(
  aggregateId: string,
  opts: { aggregateType?: string; start?: Date } = {},
): (eventType: string, eventData?: EventData, over?: EventOverrides) => ProjectorEvent {
  let version = 0;
  let time = (opts.start ?? new Date('2025-03-01T10:00:00Z')).getTime();
  return (eventType, eventData = {}, over = {}) => {
    version += 1;
    const at = over.eventTimestamp ?? new Date((time += 60_000));
    if (at instanceof Date && !Number.isNaN(at.getTime())) time = at.getTime();
    return {
      eventId: `${aggregateId}-e${version}`,
      aggregateId,
      aggregateType: opts.aggregateType ?? 'BankAccount',
      eventType,
      eventVersion: '2.0',
      version,
      eventTimestamp: at,
      eventData,
      eventMetadata: {},
      ...over,
    } as ProjectorEvent;
  };
}
