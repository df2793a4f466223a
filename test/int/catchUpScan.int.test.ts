import { MongoNetworkError, ObjectId, type Db, type Document, type FindCursor } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventStore } from '../../src/events/eventStore.js';
import { silentLogger } from '../../src/observability/logger.js';
import { catchUpSource, scanEventStore } from '../../src/source/catchUp.js';
import { useTestDb } from '../helpers/mongo.js';

/**
 * Issue 15, item 11: a catch-up scan interrupted by a transient error resumes after the last
 * event it delivered, and must deliver every other document — also those whose aggregateId is
 * not a string (an ObjectId, a number, a boolean, missing), which sort apart from strings and
 * which the dispatcher dead-letters. The interruption is a network error thrown by the first
 * cursor after `n` documents (the server and its data are real).
 */
function interruptedOnce(db: Db, afterDocs: number): Db {
  let interrupted = false;
  const wrap = (cursor: FindCursor<Document>): FindCursor<Document> =>
    new Proxy(cursor, {
      get(target, prop, receiver) {
        if (prop === Symbol.asyncIterator && !interrupted) {
          interrupted = true;
          return async function* () {
            let n = 0;
            for await (const doc of target) {
              if (n++ === afterDocs)
                throw new MongoNetworkError('connection 3 to 127.0.0.1 closed');
              yield doc;
            }
          };
        }
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const r: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          return (r === target ? receiver : r) as unknown;
        };
      },
    });
  return new Proxy(db, {
    get(target, prop) {
      if (prop !== 'collection') return Reflect.get(target, prop) as unknown;
      return (name: string) => {
        const coll = target.collection(name);
        return new Proxy(coll, {
          get(c, p) {
            if (p !== 'find') return Reflect.get(c, p) as unknown;
            return (...args: Parameters<typeof c.find>) => wrap(c.find(...args));
          },
        });
      };
    },
  });
}

describe('catch-up scan', () => {
  let db: Db;
  // Account ids as the seed article's command side may write them (events/ids.ts).
  const x = ObjectId.createFromHexString('64b7f0c2a1b2c3d4e5f60701');
  const y = ObjectId.createFromHexString('64b7f0c2a1b2c3d4e5f60702');
  const docs: Document[] = [
    { aggregateId: y, version: 2 },
    { aggregateId: x, version: 1 },
    { aggregateId: y, version: 1 },
    { aggregateId: x, version: 2 },
    { aggregateId: 'a', version: 1 },
    { aggregateId: 'a', version: 2 },
    { aggregateId: 'b', version: 1 },
    { aggregateId: 'c', version: 1 },
    { aggregateId: 42, version: 1 },
    { aggregateId: new ObjectId(), version: 1 },
    { aggregateId: true, version: 1 },
    { version: 1 },
    { aggregateId: 'd', version: '2' },
    { aggregateId: 'd', version: 1 },
  ];
  beforeAll(async () => {
    ({ db } = await useTestDb('scan'));
    await eventStore(db).insertMany(docs.map((d, i) => ({ ...d, eventId: `e${i}` })));
  });

  const ids = (list: Document[]) => list.map((d) => String(d.eventId)).sort();

  it.each([0, 2, 3, 5, 7, 9])(
    'delivers every document when interrupted after %i, strings first in order',
    async (n) => {
      const seen: Document[] = [];
      for await (const raw of catchUpSource({
        db: interruptedOnce(db, n),
        batchSize: 2,
        signal: new AbortController().signal,
        logger: silentLogger(),
      }))
        seen.push(raw);
      expect(ids(seen)).toEqual(
        expect.arrayContaining(ids(docs.map((d, i) => ({ ...d, eventId: `e${i}` })))),
      );
      const ordered = seen.filter(
        (d) => typeof d.aggregateId === 'string' && typeof d.version === 'number',
      );
      expect(ordered.map((d) => `${String(d.aggregateId)}${String(d.version)}`)).toEqual([
        'a1',
        'a2',
        'b1',
        'c1',
        'd1',
      ]);
      // ObjectId aggregates in their own (aggregateId, version) phase, not in storage order.
      const byAggregate = seen.filter((d) =>
        [x, y].some((id) => id.equals(d.aggregateId as ObjectId)),
      );
      expect(byAggregate.map((d) => `${String(d.aggregateId)}@${String(d.version)}`)).toEqual([
        `${x.toHexString()}@1`,
        `${x.toHexString()}@2`,
        `${y.toHexString()}@1`,
        `${y.toHexString()}@2`,
      ]);
    },
  );

  it('resumes from a saved position without repeating or skipping', async () => {
    const all: string[] = [];
    const positions = [];
    for await (const s of scanEventStore({
      db,
      batchSize: 3,
      signal: new AbortController().signal,
      logger: silentLogger(),
    })) {
      all.push(String(s.raw.eventId));
      positions.push(s.position);
    }
    expect(all).toHaveLength(docs.length);
    for (let k = 0; k < positions.length; k++) {
      const rest: string[] = [];
      for await (const s of scanEventStore({
        db,
        batchSize: 3,
        signal: new AbortController().signal,
        logger: silentLogger(),
        after: positions[k],
      }))
        rest.push(String(s.raw.eventId));
      expect(rest).toEqual(all.slice(k + 1));
    }
  });
});
