import type { AnyBulkWriteOperation, Document } from 'mongodb';
import type { ReadModelDoc } from '../../writer/intents.js';
import type { OpError } from '../../writer/sink.js';

/**
 * Read models in memory, for the module test kit and the in-process benchmarks: collections of
 * documents in maps, written by the bulk operations the batch writer produces and read back by
 * handlers. It understands exactly the filters and updates of src/writer/intents.ts (guards on
 * `version`, per-aggregate markers and `_appliedEvents`; `$set`, `$setOnInsert`, `$inc`,
 * `$max`, `$min`, `$push`) and the plain-equality reads of src/modules/context.ts, with
 * MongoDB's answers: a guarded upsert that matches nothing while the `_id` exists is E11000,
 * which the writer reads as "already applied". Anything else throws, so a new intent shape
 * shows up here instead of being silently mis-applied. An int test runs the bank modules both
 * here and on a server and compares every document (testKitBackends.int.test.ts).
 *
 * Its own time is measured (`busyMs`): the benchmarks report it apart from the engine's.
 */
type Doc = Record<string, unknown>;

export interface MemoryStore {
  bulkWrite(collection: string, ops: AnyBulkWriteOperation<ReadModelDoc>[]): OpError[];
  findOne(collection: string, id: string): Doc | null;
  find(collection: string, filter: Document): Doc[];
  size(collection: string): number;
  docs(collection: string): IterableIterator<Doc>;
  /** Time spent inside the store, in ms (reads and writes). */
  readonly busyMs: number;
  readonly opsWritten: number;
}

const isObject = (v: unknown): v is Doc =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

function getPath(doc: Doc, path: string): unknown {
  if (!path.includes('.')) return doc[path];
  let cur: unknown = doc;
  for (const part of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

function setPath(doc: Doc, path: string, value: unknown): void {
  if (!path.includes('.')) {
    doc[path] = value;
    return;
  }
  const parts = path.split('.');
  let cur = doc;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (isObject(next)) cur = next;
    else cur = cur[part] = {};
  }
  cur[parts[parts.length - 1] ?? path] = value;
}

const cmp = (a: unknown, b: unknown): number =>
  (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;

/** MongoDB's equality for the values read models hold: dates by time, the rest by value. */
function same(a: unknown, b: unknown): boolean {
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  return a === b;
}

function matchesCondition(value: unknown, cond: unknown): boolean {
  if (!isObject(cond)) return same(value, cond);
  for (const [op, arg] of Object.entries(cond)) {
    const ok =
      op === '$eq'
        ? same(value, arg) || (Array.isArray(value) && value.some((v) => same(v, arg)))
        : op === '$ne'
          ? Array.isArray(value)
            ? !value.some((v) => same(v, arg))
            : !same(value, arg)
          : op === '$lt'
            ? value !== undefined && cmp(value, arg) < 0
            : op === '$gte'
              ? value !== undefined && cmp(value, arg) >= 0
              : op === '$not'
                ? !matchesCondition(value, arg)
                : unsupported(`filter operator ${op}`);
    if (!ok) return false;
  }
  return true;
}

function matches(doc: Doc, filter: Document): boolean {
  for (const [path, cond] of Object.entries(filter)) {
    if (!matchesCondition(getPath(doc, path), cond)) return false;
  }
  return true;
}

function unsupported(what: string): never {
  throw new Error(
    `memory store: ${what} is not modelled; extend src/modules/testing/memoryStore.ts`,
  );
}

function applyUpdate(doc: Doc, update: Document, inserting: boolean): void {
  for (const [op, fields] of Object.entries(update)) {
    if (!isObject(fields)) unsupported(`update section ${op}`);
    for (const [path, value] of Object.entries(fields)) {
      const current = getPath(doc, path);
      if (op === '$set') setPath(doc, path, value);
      else if (op === '$setOnInsert') {
        if (inserting) setPath(doc, path, value);
      } else if (op === '$inc') setPath(doc, path, ((current as number) ?? 0) + (value as number));
      else if (op === '$max') {
        if (current === undefined || cmp(value, current) > 0) setPath(doc, path, value);
      } else if (op === '$min') {
        if (current === undefined || cmp(value, current) < 0) setPath(doc, path, value);
      } else if (op === '$push') {
        const list: unknown[] = Array.isArray(current) ? current : [];
        const each: unknown[] =
          isObject(value) && Array.isArray(value.$each) ? (value.$each as unknown[]) : [value];
        setPath(doc, path, [...list, ...each]);
      } else unsupported(`update operator ${op}`);
    }
  }
}

export function createMemoryStore(): MemoryStore {
  const collections = new Map<string, Map<string, Doc>>();
  let busyMs = 0;
  let opsWritten = 0;
  const coll = (name: string) => {
    let c = collections.get(name);
    if (!c) collections.set(name, (c = new Map<string, Doc>()));
    return c;
  };
  const duplicate = (index: number, id: string): OpError => ({
    index,
    code: 11000,
    message: `E11000 duplicate key error: _id ${id}`,
  });

  function write(c: Map<string, Doc>, op: AnyBulkWriteOperation<ReadModelDoc>, i: number) {
    if ('insertOne' in op) {
      const doc = op.insertOne.document as Doc & { _id: string };
      if (c.has(doc._id)) return duplicate(i, doc._id);
      c.set(doc._id, { ...doc });
      return undefined;
    }
    if (!('updateOne' in op)) return unsupported(`bulk operation ${Object.keys(op).join()}`);
    const { filter, update, upsert } = op.updateOne;
    const { _id: id, ...guard } = filter as Document;
    if (typeof id !== 'string') return unsupported('an update filter without a string _id');
    const existing = c.get(id);
    if (existing) {
      if (!matches(existing, guard)) return upsert ? duplicate(i, id) : undefined;
      applyUpdate(existing, update, false);
    } else if (upsert) {
      const doc: Doc = { _id: id };
      applyUpdate(doc, update, true);
      c.set(id, doc);
    }
    return undefined;
  }

  return {
    bulkWrite(collection, ops) {
      const started = performance.now();
      const c = coll(collection);
      const errors: OpError[] = [];
      ops.forEach((op, i) => {
        const err = write(c, op, i);
        if (err) errors.push(err);
      });
      opsWritten += ops.length;
      busyMs += performance.now() - started;
      return errors;
    },
    findOne(collection, id) {
      const started = performance.now();
      const doc = coll(collection).get(id) ?? null;
      busyMs += performance.now() - started;
      return doc;
    },
    find(collection, filter) {
      const started = performance.now();
      const out = [...coll(collection).values()].filter((d) => matches(d, filter));
      busyMs += performance.now() - started;
      return out;
    },
    size: (collection) => coll(collection).size,
    docs: (collection) => coll(collection).values(),
    get busyMs() {
      return busyMs;
    },
    get opsWritten() {
      return opsWritten;
    },
  };
}
