import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/modules/testing/memoryStore.js';
import type { GuardedUpdate } from '../../src/modules/types.js';
import {
  incrementOperation,
  insertOperation,
  upsertOperation,
  type BulkOp,
  type Guard,
} from '../../src/writer/intents.js';
import { mergeOperations } from '../../src/writer/merge.js';

/**
 * Span writes (writer/merge.ts): the updates of consecutive events of one aggregate folded into
 * one must leave a document exactly as applying them one by one does — checked for each operator
 * on a document that did not exist and on one that did (the store applies MongoDB's update
 * semantics: src/modules/testing/memoryStore.ts; the int test spans.int.test.ts checks the real server).
 */
const guard = (version: number): Guard => ({ kind: 'version', aggregateId: 'a', version });
const upserts = (updates: GuardedUpdate[]): BulkOp[] =>
  updates.map((u, i) => upsertOperation('a', guard(i + 1), u));

function foldAll(ops: BulkOp[]): BulkOp | undefined {
  let merged: BulkOp | undefined = ops[0];
  for (const op of ops.slice(1)) merged = merged && mergeOperations(merged, op);
  return merged;
}

/** The document after each op one by one, and after the merged op, from the same start. */
function bothWays(ops: BulkOp[], existing?: Document) {
  const one = createMemoryStore();
  const all = createMemoryStore();
  if (existing) {
    one.bulkWrite('c', [insertOperation({ _id: 'a', ...existing })]);
    all.bulkWrite('c', [insertOperation({ _id: 'a', ...existing })]);
  }
  for (const op of ops) expect(one.bulkWrite('c', [op])).toEqual([]);
  const merged = foldAll(ops);
  expect(merged).toBeDefined();
  expect(all.bulkWrite('c', [merged!])).toEqual([]);
  return { perEvent: one.findOne('c', 'a'), merged: all.findOne('c', 'a') };
}

const day = (d: number) => new Date(Date.UTC(2026, 0, d));
const EXISTING = { version: 0, n: 5, list: ['old'], high: 7, low: 7, at: day(10), kept: 'x' };

describe('span writes: one merged update = the events one by one', () => {
  const cases: [string, GuardedUpdate[]][] = [
    ['$inc adds up', [{ inc: { n: 1 } }, { inc: { n: 2.5 } }, { inc: { n: -1, m: 1 } }]],
    [
      '$set keeps the last value',
      [{ set: { s: 'a' } }, { set: { s: 'b', t: 1 } }, { set: { s: 'c' } }],
    ],
    ['$max folds (numbers)', [{ max: { high: 3 } }, { max: { high: 9 } }, { max: { high: 4 } }]],
    [
      '$max folds (dates)',
      [{ max: { at: day(3) } }, { max: { at: day(20) } }, { max: { at: day(5) } }],
    ],
    ['$min folds', [{ min: { low: 3 } }, { min: { low: 9 } }, { min: { low: 1 } }]],
    [
      '$push concatenates',
      [{ push: { list: 'a' } }, { push: { list: { b: 1 } } }, { push: { list: 'c' } }],
    ],
    [
      '$setOnInsert keeps the first',
      [{ setOnInsert: { kept: 'first' } }, { setOnInsert: { kept: 'second', other: 1 } }],
    ],
    ['$set after $inc replaces it', [{ inc: { n: 2 } }, { set: { n: 100 } }]],
    ['$inc after $set adds onto it', [{ set: { n: 10 } }, { inc: { n: 3 } }, { inc: { n: 4 } }]],
    [
      '$max and $min after $set fold onto it',
      [{ set: { high: 5, low: 5 } }, { max: { high: 8 }, min: { low: 2 } }],
    ],
    [
      '$push after $set of an array appends to it',
      [{ set: { list: ['s'] } }, { push: { list: 't' } }],
    ],
    [
      '$set after $setOnInsert wins',
      [{ setOnInsert: { kept: 'first' } }, { set: { kept: 'set' } }],
    ],
    [
      'a bank account: opened, then moved and frozen',
      [
        { set: { currentBalance: 100, status: 'active' }, setOnInsert: { openedAt: day(1) } },
        { inc: { currentBalance: -30.1 }, set: { lastTransactionAt: day(2) } },
        { inc: { currentBalance: 12.05 }, set: { lastTransactionAt: day(3) } },
        { set: { status: 'frozen' } },
      ],
    ],
  ];
  for (const [name, updates] of cases) {
    it(`${name}, on a new document and on an existing one`, () => {
      const fresh = bothWays(upserts(updates));
      expect(fresh.merged).toEqual(fresh.perEvent);
      const old = bothWays(upserts(updates), EXISTING);
      expect(old.merged).toEqual(old.perEvent);
      expect(old.merged?.version).toBe(updates.length);
    });
  }

  it("keeps the span's first version as the guard: a document already past it refuses the span", () => {
    const merged = foldAll(upserts([{ inc: { n: 1 } }, { inc: { n: 1 } }, { inc: { n: 1 } }]))!;
    expect(merged).toMatchObject({ updateOne: { filter: { _id: 'a', version: { $lt: 1 } } } });
    const store = createMemoryStore();
    store.bulkWrite('c', [insertOperation({ _id: 'a', version: 2, n: 2 })]);
    expect(store.bulkWrite('c', [merged]).map((e) => e.code)).toEqual([11000]);
    expect(store.findOne('c', 'a')).toEqual({ _id: 'a', version: 2, n: 2 });
  });

  it('merges per-aggregate increments of a shared document: counts add, the marker moves to the last', () => {
    const marker = (v: number) =>
      incrementOperation('totals', guard(v), { events: 1 }, { last: v });
    const ops = [marker(1), marker(2), marker(3)];
    const store = createMemoryStore();
    const reference = createMemoryStore();
    for (const op of ops) reference.bulkWrite('c', [op]);
    expect(store.bulkWrite('c', [foldAll(ops)!])).toEqual([]);
    expect(store.findOne('c', 'totals')).toEqual(reference.findOne('c', 'totals'));
    expect(store.findOne('c', 'totals')).toMatchObject({ events: 3, last: 3, applied: { a: 3 } });
  });
});

describe('span writes: what is not merged (the span ends before that event)', () => {
  const pair = (a: GuardedUpdate, b: GuardedUpdate) =>
    mergeOperations(...(upserts([a, b]) as [BulkOp, BulkOp]));
  it.each<[string, GuardedUpdate, GuardedUpdate]>([
    [
      '$inc after $setOnInsert (depends on whether the document existed)',
      { setOnInsert: { n: 1 } },
      { inc: { n: 1 } },
    ],
    ['$inc of a field set to a string', { set: { n: 'x' } }, { inc: { n: 1 } }],
    ['$max of strings (ordering is the server’s)', { max: { s: 'a' } }, { max: { s: 'b' } }],
    ['$max after $inc', { inc: { n: 1 } }, { max: { n: 3 } }],
    ['$push onto a field set to a non-array', { set: { list: 'x' } }, { push: { list: 'y' } }],
    ['a field and one of its sub-paths', { set: { a: { b: 1 } } }, { set: { 'a.b': 2 } }],
  ])('%s', (_name, a, b) => {
    expect(pair(a, b)).toBeUndefined();
  });

  it('inserts, event-id guards and different guard fields', () => {
    const up = upsertOperation('a', guard(1), { set: { x: 1 } });
    expect(mergeOperations(insertOperation({ _id: 'a' }), up)).toBeUndefined();
    expect(mergeOperations(up, insertOperation({ _id: 'a' }))).toBeUndefined();
    const byEvent = (id: string) =>
      upsertOperation('a', { kind: 'event', eventId: id }, { set: { x: 1 } });
    expect(mergeOperations(byEvent('e1'), byEvent('e2'))).toBeUndefined();
    const counted = incrementOperation('a', guard(2), { n: 1 }, undefined);
    expect(mergeOperations(up, counted)).toBeUndefined();
  });
});
