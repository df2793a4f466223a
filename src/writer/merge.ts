import type { Document } from 'mongodb';
import type { BulkOp } from './intents.js';

/**
 * Span writes: the updates that consecutive events of one aggregate make to one document, folded
 * into one update with the same effect as applying them one after the other.
 *  - `$set` keeps the last value; a `$set` also replaces an earlier `$inc`/`$max`/`$min`/`$push`
 *    or `$setOnInsert` of that field;
 *  - `$inc` adds up (onto an earlier `$set` of a number, too);
 *  - `$max`/`$min` fold (onto an earlier `$set` as well), for numbers and dates;
 *  - `$push` concatenates its `$each` lists (onto an earlier `$set` of an array, too);
 *  - `$setOnInsert` keeps the first: after the first upsert the document exists, so a later
 *    event's `$setOnInsert` would do nothing.
 * The filter (the guard) stays the first one's: the span's first version. The guard field itself
 * (`version`, or an aggregate's applied marker) is `$set` by every event, so the last one wins.
 * Anything else — an operator on a field another operator already holds that does not fold (an
 * `$inc` after a `$setOnInsert`, a `$max` of strings), a field and one of its sub-paths, an
 * insert, an event-id guard — is not merged: the span ends before that event.
 */
type Section = Record<string, unknown>;
const OPERATORS = ['$set', '$setOnInsert', '$inc', '$max', '$min', '$push'] as const;
type Operator = (typeof OPERATORS)[number];
type Sections = Partial<Record<Operator, Section>>;

const isOperator = (k: string): k is Operator => (OPERATORS as readonly string[]).includes(k);

function comparable(a: unknown, b: unknown): 'number' | 'date' | undefined {
  if (typeof a === 'number' && typeof b === 'number' && Number.isFinite(a) && Number.isFinite(b))
    return 'number';
  if (a instanceof Date && b instanceof Date) return 'date';
  return undefined;
}

function extreme(op: '$max' | '$min', a: unknown, b: unknown): unknown {
  const kind = comparable(a, b);
  if (!kind) return undefined;
  const x = kind === 'number' ? (a as number) : (a as Date).getTime();
  const y = kind === 'number' ? (b as number) : (b as Date).getTime();
  return (op === '$max' ? y > x : y < x) ? b : a;
}

const eachOf = (v: unknown): unknown[] | undefined => {
  const list = (v as { $each?: unknown } | null)?.$each;
  return typeof v === 'object' && v !== null && Object.keys(v).length === 1 && Array.isArray(list)
    ? list
    : undefined;
};

/**
 * The later operator `op` with value `v` on a field the merged update holds under `prior` with
 * value `p`: the operator and value that have the effect of both, or undefined.
 */
function fold(
  prior: Operator,
  p: unknown,
  op: Operator,
  v: unknown,
): { op: Operator; value: unknown } | undefined {
  if (op === '$set') return { op, value: v };
  if (op === '$inc') {
    if ((prior === '$inc' || prior === '$set') && typeof p === 'number' && typeof v === 'number')
      return { op: prior, value: p + v };
    return undefined;
  }
  if (op === '$max' || op === '$min') {
    if (prior !== op && prior !== '$set') return undefined;
    const value = extreme(op, p, v);
    return value === undefined ? undefined : { op: prior, value };
  }
  if (op === '$push') {
    const more = eachOf(v);
    if (!more) return undefined;
    if (prior === '$push') {
      const list = eachOf(p);
      return list ? { op, value: { $each: [...list, ...more] } } : undefined;
    }
    if (prior === '$set' && Array.isArray(p))
      return { op: prior, value: [...(p as unknown[]), ...more] };
  }
  return undefined;
}

function overlaps(path: string, held: Map<string, Operator>): boolean {
  for (const q of held.keys()) {
    if (q !== path && (q.startsWith(`${path}.`) || path.startsWith(`${q}.`))) return true;
  }
  return false;
}

/** `b` (a later event's update) folded into `a`; neither is changed. Undefined: not mergeable. */
export function mergeUpdates(a: Document, b: Document): Document | undefined {
  const out: Sections = {};
  const held = new Map<string, Operator>();
  for (const k of Object.keys(a)) {
    if (!isOperator(k)) return undefined;
    const section = { ...(a[k] as Section) };
    out[k] = section;
    for (const path of Object.keys(section)) held.set(path, k);
  }
  for (const k of Object.keys(b)) {
    if (!isOperator(k)) return undefined;
    if (k === '$setOnInsert') continue; // the document exists after the first upsert
    for (const [path, v] of Object.entries(b[k] as Section)) {
      if (overlaps(path, held)) return undefined;
      const prior = held.get(path);
      const next =
        prior === undefined ? { op: k, value: v } : fold(prior, out[prior]?.[path], k, v);
      if (!next) return undefined;
      if (prior !== undefined && prior !== next.op) delete out[prior]?.[path];
      (out[next.op] ??= {})[path] = next.value;
      held.set(path, next.op);
    }
  }
  const update: Document = {};
  for (const k of OPERATORS) {
    const section = out[k];
    if (section && Object.keys(section).length > 0) update[k] = section;
  }
  return update;
}

/** The filter's guard field and its condition operator, e.g. `version $lt` (undefined: none). */
function guardShape(filter: Document): string | undefined {
  const keys = Object.keys(filter);
  if (keys.length !== 2 || keys[0] !== '_id') return undefined;
  const field = keys[1]!;
  const cond = filter[field] as Document | null;
  if (typeof cond !== 'object' || cond === null) return undefined;
  if ('$lt' in cond) return `${field} $lt`;
  const not = cond.$not as Document | undefined;
  if (not && typeof not === 'object' && '$gte' in not) return `${field} $not $gte`;
  return undefined; // an event-id guard ($ne): each event is its own write
}

/**
 * A later event's operation on the same document folded into the span's: both guarded upserts
 * with the same guard field. The span's filter (its first version) is kept.
 */
export function mergeOperations(a: BulkOp, b: BulkOp): BulkOp | undefined {
  if (!('updateOne' in a) || !('updateOne' in b)) return undefined;
  const x = a.updateOne;
  const y = b.updateOne;
  if (!x.upsert || !y.upsert || Array.isArray(x.update) || Array.isArray(y.update))
    return undefined;
  const shape = guardShape(x.filter);
  if (!shape || shape !== guardShape(y.filter)) return undefined;
  const update = mergeUpdates(x.update, y.update);
  return update ? { updateOne: { filter: x.filter, update, upsert: true } } : undefined;
}

/** The document an operation writes, as `collection\0_id` (undefined: not a single document). */
export function documentKey(collection: string, op: BulkOp): string | undefined {
  const id: unknown =
    'updateOne' in op
      ? (op.updateOne.filter as Document)._id
      : 'insertOne' in op
        ? (op.insertOne.document as Document)._id
        : undefined;
  return typeof id === 'string' ? `${collection}\u0000${id}` : undefined;
}
