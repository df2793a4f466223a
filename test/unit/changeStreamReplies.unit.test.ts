import { ObjectId, Timestamp, type Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { toPosition } from '../../src/checkpoint/position.js';
import { ProjectordError } from '../../src/lib/errors.js';
import { silentLogger } from '../../src/observability/logger.js';
import {
  changeStreamSource,
  HistoryLostError,
  STUCK_AFTER,
  type SourceItem,
} from '../../src/source/changeStream.js';
import { fakeStreamDb, type Step } from '../helpers/fakeChangeStream.js';
import { serverError } from '../helpers/serverReplies.js';

/**
 * Issue 15, items 2, 6 and 7: the live source against replies of a real replica set that the
 * embedded server does not produce (fakeStreamDb plays them through the source's only seam, the
 * Db it watches).
 */
const T = 0x63a1b2c3;
const hex = (n: number) => n.toString(16).padStart(8, '0');
/** A real server's event token (0x82, t, i, then the rest of the KeyString). */
const token = (t: number, i: number, rest = '2B022C0100296E5A1004') => ({
  _data: `82${hex(t)}${hex(i)}${rest}`,
});
const ts = (t: number, i: number) => new Timestamp({ t, i });

function insert(t: number, i: number, doc: Document): Document {
  return {
    _id: token(t, i),
    operationType: 'insert',
    clusterTime: ts(t, i),
    documentKey: { _id: doc._id as unknown },
    fullDocument: doc,
  };
}

async function take(
  scripts: Step[][],
  n: number,
  documents: Document[] = [],
  start = undefined as ReturnType<typeof toPosition> | undefined,
) {
  const fake = fakeStreamDb(scripts, documents);
  const ac = new AbortController();
  const items: SourceItem[] = [];
  const source = changeStreamSource({
    db: fake.db,
    start,
    batchSize: 10,
    maxAwaitTimeMs: 1,
    retryBaseDelayMs: 1,
    retryMaxDelayMs: 2,
    signal: ac.signal,
    logger: silentLogger(),
  });
  let error: unknown;
  try {
    for await (const item of source) {
      items.push(item);
      if (items.length >= n) break;
    }
  } catch (e) {
    error = e;
  } finally {
    ac.abort();
  }
  return { items, error, opened: fake.opened };
}

describe('idle resume tokens (item 7)', () => {
  it('places a post-batch token at the time inside it, not at the last event before it', async () => {
    // The stream started at an old module's position (T); the server has read the oplog up to
    // T + 50 and says so with its post-batch token. A module that joined at T + 20 must accept it.
    const start = toPosition(null, ts(T, 1));
    const { items } = await take(
      [[{ idle: { _data: `82${hex(T + 50)}${hex(3)}01` } }]],
      1,
      [],
      start,
    );
    expect(items[0]?.kind).toBe('idle');
    expect(items[0]?.position?.clusterTime.equals(ts(T + 50, 3))).toBe(true);
  });

  it('refreshes a stream that has no start (no module had a position) as well', async () => {
    const { items } = await take([[{ idle: { _data: `82${hex(T + 7)}${hex(1)}01` } }]], 1);
    expect(items[0]?.position?.clusterTime.equals(ts(T + 7, 1))).toBe(true);
  });
});

describe('invalidate: event_store dropped or renamed (item 2)', () => {
  const e1 = { _id: new ObjectId(), aggregateId: 'a', version: 1 };
  const e2 = { _id: new ObjectId(), aggregateId: 'b', version: 1 };
  const invalidate = {
    _id: token(T + 2, 1, '01'),
    operationType: 'invalidate',
    clusterTime: ts(T + 2, 1),
  };

  it('moves past it and follows the next event_store with startAfter its token', async () => {
    const { items, error, opened } = await take(
      [[insert(T + 1, 1, e1), invalidate], [insert(T + 3, 1, e2)]],
      3,
    );
    expect(error).toBeUndefined();
    expect(items.map((i) => i.kind)).toEqual(['event', 'idle', 'event']);
    expect(items[1]?.position?.token).toEqual(invalidate._id);
    expect(items[2]?.kind === 'event' && items[2].raw).toEqual(e2);
    expect(opened[1]?.options.startAfter).toEqual(invalidate._id);
    expect(opened[1]?.options.resumeAfter).toBeUndefined();
  });

  it('a stored position holding an invalidate token is reopened with startAfter too', async () => {
    const start = toPosition(invalidate._id, invalidate.clusterTime);
    const { items, opened } = await take([[insert(T + 3, 1, e2)]], 1, [], start);
    expect(items[0]?.kind).toBe('event');
    expect(opened[0]?.options.startAfter).toEqual(invalidate._id);
  });
});

describe('stream errors that never heal (item 6)', () => {
  const big = { _id: new ObjectId(), aggregateId: 'big', version: 1, eventData: { blob: 'x' } };
  const after = { _id: new ObjectId(), aggregateId: 'c', version: 1 };
  const tooLarge = () =>
    serverError({
      code: 10334,
      codeName: 'BSONObjectTooLarge',
      errmsg:
        'Executor error during getMore :: caused by :: BSONObj size: 16800391 (0x1005A87) is invalid. Size must be between 0 and 16793600(16MB) First element: _id: { _data: "8263A1B2C4..." }',
    });

  it('an event over 16 MB is read by _id from event_store, then the stream goes on', async () => {
    const slim: Document = { ...insert(T + 4, 1, big), fullDocument: undefined };
    const { items, error, opened } = await take(
      [[{ fail: tooLarge() }], [slim], [insert(T + 5, 1, after)]],
      2,
      [big],
    );
    expect(error).toBeUndefined();
    expect(items.map((i) => i.kind === 'event' && i.raw)).toEqual([big, after]);
    expect(opened[1]?.pipeline).toContainEqual({ $project: { fullDocument: 0 } });
    expect(opened[2]?.pipeline).not.toContainEqual({ $project: { fullDocument: 0 } });
    expect(opened[2]?.options.startAfter).toEqual(slim._id);
  });

  it('the NonResumableChangeStreamError label stops at once with a clear error', async () => {
    const nonResumable = serverError({
      code: 11601,
      codeName: 'Interrupted',
      errmsg: 'operation was interrupted',
      errorLabels: ['NonResumableChangeStreamError'],
    });
    const { error, opened } = await take([[{ fail: nonResumable }]], 1);
    expect(error).toBeInstanceOf(ProjectordError);
    expect((error as ProjectordError).code).toBe('SOURCE_FATAL');
    expect((error as Error).message).toMatch(/cannot be resumed/);
    expect(opened).toHaveLength(1);
  });

  it(`an error that is not the network's, ${STUCK_AFTER} times in a row at one position, stops`, async () => {
    const closed = new Error('ChangeStream is closed');
    const scripts = Array.from({ length: 10 }, () => [{ fail: closed }]);
    const { error, opened } = await take(scripts, 1);
    expect((error as ProjectordError).code).toBe('SOURCE_STUCK');
    expect((error as Error).message).toMatch(/failed 5 times in a row/);
    expect(opened).toHaveLength(STUCK_AFTER);
  });

  it('a lost history still resyncs rather than stopping', async () => {
    const lost = serverError({
      code: 286,
      codeName: 'ChangeStreamHistoryLost',
      errmsg:
        'Resume of change stream was not possible, as the resume point may no longer be in the oplog.',
      errorLabels: ['NonResumableChangeStreamError'],
    });
    const { error } = await take([[{ fail: lost }]], 1);
    expect(error).toBeInstanceOf(HistoryLostError);
  });
});
