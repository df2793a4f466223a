import type { AnyBulkWriteOperation, Document } from 'mongodb';
import type { GuardedUpdate } from '../modules/types.js';
import { escapeKey, plainFields, plainValue, sectionKey } from './sanitize.js';

/**
 * Write intents: what a handler asked for, before batching. Each becomes one bulk operation
 * whose filter makes it exactly-once (DESIGN.md invariant 2); a duplicate-key error on it means
 * "already applied".
 *  - upsert:        {_id, version: {$lt: v}}  → $set …, version: v   (upsert)
 *  - insertOnce:    insertOne {_id, …}
 *  - incrementOnce: {_id, <marker>: not ≥ v}  → $inc …, $set marker: v (upsert), where the marker
 *                   is per aggregate (`applied.<aggregateId>`), for documents shared by aggregates.
 * With an `event` guard both update kinds use {_id, _appliedEvents: {$ne: eventId}} and push it.
 */
/**
 * How an op knows it was applied before. `version`: the document belongs to one aggregate whose
 * events arrive in version order (the default ordering key). `event`: modules ordered by another
 * key (sagas) see one aggregate's events out of version order, so the document keeps the ids of
 * the events applied to it (`_appliedEvents`, small: one entry per event of one saga instance).
 */
export type Guard =
  { kind: 'version'; aggregateId: string; version: number } | { kind: 'event'; eventId: string };

export type WriteIntent =
  | { kind: 'upsert'; collection: string; id: string; guard: Guard; update: GuardedUpdate }
  | { kind: 'insertOnce'; collection: string; doc: Document & { _id: string } }
  | {
      kind: 'incrementOnce';
      collection: string;
      id: string;
      guard: Guard;
      inc: Record<string, number>;
      set?: Document;
    };

export const APPLIED_EVENTS = '_appliedEvents';

/** Read-model documents are keyed by strings (aggregate ids, event ids, composite keys). */
export interface ReadModelDoc extends Document {
  _id: string;
}

export const APPLIED_MARKERS = 'applied';

export function markerField(aggregateId: string): string {
  return `${APPLIED_MARKERS}.${escapeKey(aggregateId)}`;
}

function numbers(fields: Record<string, number> | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!fields) return out;
  for (const k in fields) {
    const v = fields[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new TypeError(`increment "${k}" must be a finite number, got ${String(v)}`);
    }
    out[k.charCodeAt(0) === 36 /* $ */ ? escapeKey(k) : k] = v;
  }
  return out;
}

/** Whether a module may write this top-level field of a guarded document (the engine owns the rest). */
function writable(key: string, guard: Guard): boolean {
  return key !== '_id' && key !== APPLIED_EVENTS && (guard.kind !== 'version' || key !== 'version');
}

/**
 * One update section in one pass: made plain (sanitize.ts), the engine's fields and `skip`'s
 * keys left out, `wrap` applied to each value; undefined when nothing is left.
 */
function section(
  fields: Record<string, unknown> | undefined,
  guard: Guard,
  skip?: Record<string, unknown>,
  wrap?: (v: unknown) => unknown,
): Record<string, unknown> | undefined {
  if (!fields) return undefined;
  let out: Record<string, unknown> | undefined;
  for (const k in fields) {
    const v = fields[k];
    if (v === undefined) continue;
    const key = sectionKey(k);
    if (!writable(key, guard) || (skip !== undefined && Object.hasOwn(skip, key))) continue;
    const plain = plainValue(v);
    (out ??= {})[key] = wrap ? wrap(plain) : plain;
  }
  return out;
}

const each = (v: unknown) => ({ $each: [v] });

function nonEmpty(update: Record<string, Record<string, unknown>>): Document {
  const out: Document = {};
  for (const [op, fields] of Object.entries(update)) {
    if (Object.keys(fields).length > 0) out[op] = fields;
  }
  return out;
}

export type BulkOp = AnyBulkWriteOperation<ReadModelDoc>;

/**
 * The writes of one unit (an event, a span of events, a deadline): bulk operations and the
 * collection of each, as parallel arrays. The handler's context builds the operations directly
 * (no intent object in between); the batch writer sends them as they are.
 */
export interface Writes {
  readonly collections: string[];
  readonly ops: BulkOp[];
}

export function upsertOperation(id: string, g: Guard, u: GuardedUpdate): BulkOp {
  const set = section(u.set, g) ?? {};
  if (g.kind === 'version') set.version = g.version;
  const update: Document = {};
  if (Object.keys(set).length > 0) update.$set = set;
  const setOnInsert = section(u.setOnInsert, g, set);
  if (setOnInsert) update.$setOnInsert = setOnInsert;
  if (u.inc) {
    const inc = numbers(u.inc);
    if (Object.keys(inc).length > 0) update.$inc = inc;
  }
  const max = section(u.max, g);
  if (max) update.$max = max;
  const min = section(u.min, g);
  if (min) update.$min = min;
  const push = section(u.push, g, undefined, each);
  if (g.kind === 'event') {
    update.$push = { ...push, [APPLIED_EVENTS]: g.eventId };
  } else if (push) update.$push = push;
  return {
    updateOne: {
      filter:
        g.kind === 'version'
          ? { _id: id, version: { $lt: g.version } }
          : { _id: id, [APPLIED_EVENTS]: { $ne: g.eventId } },
      update,
      upsert: true,
    },
  };
}

export function insertOperation(doc: Document & { _id: string }): BulkOp {
  return { insertOne: { document: { ...(plainValue(doc) as Document), _id: doc._id } } };
}

export function incrementOperation(
  id: string,
  g: Guard,
  inc: Record<string, number>,
  set: Document | undefined,
): BulkOp {
  if (g.kind === 'event') {
    return {
      updateOne: {
        filter: { _id: id, [APPLIED_EVENTS]: { $ne: g.eventId } },
        update: nonEmpty({
          $inc: numbers(inc),
          $set: plainFields(set),
          $push: { [APPLIED_EVENTS]: g.eventId },
        }),
        upsert: true,
      },
    };
  }
  const marker = markerField(g.aggregateId);
  return {
    updateOne: {
      filter: { _id: id, [marker]: { $not: { $gte: g.version } } },
      update: nonEmpty({
        $inc: numbers(inc),
        $set: { ...plainFields(set), [marker]: g.version },
      }),
      upsert: true,
    },
  };
}

export function toBulkOperation(intent: WriteIntent): BulkOp {
  switch (intent.kind) {
    case 'upsert':
      return upsertOperation(intent.id, intent.guard, intent.update);
    case 'insertOnce':
      return insertOperation(intent.doc);
    case 'incrementOnce':
      return incrementOperation(intent.id, intent.guard, intent.inc, intent.set);
  }
}

/** The writes of a list of intents (tools and tests describe writes as intents). */
export function writesOf(intents: readonly WriteIntent[]): Writes {
  return {
    collections: intents.map((i) => i.collection),
    ops: intents.map(toBulkOperation),
  };
}
