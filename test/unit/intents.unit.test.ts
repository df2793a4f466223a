import { describe, expect, it } from 'vitest';
import { toBulkOperation, type WriteIntent } from '../../src/writer/intents.js';
import { escapeKey, plainValue } from '../../src/writer/sanitize.js';

describe('write intents', () => {
  it('guards an upsert by the aggregate version and owns the version field', () => {
    const op = toBulkOperation({
      kind: 'upsert',
      collection: 'c',
      id: 'a1',
      guard: { kind: 'version', aggregateId: 'a1', version: 7 },
      update: {
        set: { balance: 10, version: 99, _id: 'evil' },
        inc: { n: 1 },
        setOnInsert: { balance: 0, createdAt: 1 },
      },
    });
    expect(op).toEqual({
      updateOne: {
        filter: { _id: 'a1', version: { $lt: 7 } },
        update: {
          $set: { balance: 10, version: 7 },
          $setOnInsert: { createdAt: 1 },
          $inc: { n: 1 },
        },
        upsert: true,
      },
    });
  });

  it('builds every section: set wins over setOnInsert, pushes are $each, engine fields dropped, empty sections left out', () => {
    const op = toBulkOperation({
      kind: 'upsert',
      collection: 'c',
      id: 'a1',
      guard: { kind: 'version', aggregateId: 'a1', version: 3 },
      update: {
        set: { constructor: 'kept' },
        setOnInsert: { constructor: 'shadowed', toString: 'kept', version: 1, openedAt: 5 },
        max: { high: 9, version: 100 },
        min: {},
        push: { log: { n: 1 }, _appliedEvents: 'x' },
      },
    });
    expect(op).toEqual({
      updateOne: {
        filter: { _id: 'a1', version: { $lt: 3 } },
        update: {
          $set: { constructor: 'kept', version: 3 },
          $setOnInsert: { toString: 'kept', openedAt: 5 },
          $max: { high: 9 },
          $push: { log: { $each: [{ n: 1 }] } },
        },
        upsert: true,
      },
    });
  });

  it('guards by applied event ids for modules ordered by another key', () => {
    const op = toBulkOperation({
      kind: 'upsert',
      collection: 'c',
      id: 'saga-1',
      guard: { kind: 'event', eventId: 'e9' },
      update: { set: { state: 'Completed', _appliedEvents: ['x'] }, push: { log: 'done' } },
    });
    expect(op).toEqual({
      updateOne: {
        filter: { _id: 'saga-1', _appliedEvents: { $ne: 'e9' } },
        update: {
          $set: { state: 'Completed' },
          $push: { log: { $each: ['done'] }, _appliedEvents: 'e9' },
        },
        upsert: true,
      },
    });
  });

  it('applies a shared counter once per aggregate version', () => {
    const intent: WriteIntent = {
      kind: 'incrementOnce',
      collection: 'totals',
      id: 'all',
      guard: { kind: 'version', aggregateId: 'acc.1', version: 3 },
      inc: { events: 1 },
    };
    expect(toBulkOperation(intent)).toEqual({
      updateOne: {
        filter: { _id: 'all', 'applied.acc\uFF0E1': { $not: { $gte: 3 } } },
        update: { $inc: { events: 1 }, $set: { 'applied.acc\uFF0E1': 3 } },
        upsert: true,
      },
    });
  });

  it('rejects a non-finite increment', () => {
    expect(() =>
      toBulkOperation({
        kind: 'incrementOnce',
        collection: 't',
        id: 'x',
        guard: { kind: 'event', eventId: 'e' },
        inc: { n: Number.NaN },
      }),
    ).toThrow(/finite number/);
  });
});

describe('values are only values', () => {
  it('escapes operator-looking and dotted keys at any depth, keeps strings as they are', () => {
    const value = plainValue({
      note: { $gt: '' },
      'a.b': { $where: 'x' },
      s: '{"$gt": ""}',
      list: [{ $ne: null }],
    });
    expect(value).toEqual({
      note: { '\uFF04gt': '' },
      'a\uFF0Eb': { '\uFF04where': 'x' },
      s: '{"$gt": ""}',
      list: [{ '\uFF04ne': null }],
    });
    const keys = (v: unknown): string[] =>
      typeof v === 'object' && v !== null
        ? Object.entries(v).flatMap(([k, x]) => [k, ...keys(x)])
        : [];
    expect(keys(value).filter((k) => k.startsWith('$') || k.includes('.'))).toEqual([]);
  });

  it('escapes a top-level $ key in an update section but keeps dotted paths', () => {
    const op = toBulkOperation({
      kind: 'insertOnce',
      collection: 'c',
      doc: { _id: 'e1', $set: { x: 1 }, data: { 'k.y': 1 } },
    });
    expect(op).toEqual({
      insertOne: { document: { _id: 'e1', '\uFF04set': { x: 1 }, data: { 'k\uFF0Ey': 1 } } },
    });
    expect(escapeKey('$x.y')).toBe('\uFF04x\uFF0Ey');
    const upsert = toBulkOperation({
      kind: 'upsert',
      collection: 'c',
      id: 'a1',
      guard: { kind: 'event', eventId: 'e1' },
      update: { set: { '$x.y': 1, 'totals.fees': 2 } },
    });
    expect(upsert).toMatchObject({
      updateOne: { update: { $set: { '\uFF04x.y': 1, 'totals.fees': 2 } } },
    });
  });

  it('turns NaN and Infinity into null rather than storing garbage', () => {
    expect(plainValue({ a: Number.NaN, b: Infinity, c: 1 })).toEqual({ a: null, b: null, c: 1 });
  });
});
