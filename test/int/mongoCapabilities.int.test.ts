import type { ChangeStreamInsertDocument, Document, ResumeToken } from 'mongodb';
import { MongoBulkWriteError, Timestamp } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDb } from '../helpers/mongo.js';

/**
 * What the daemon relies on, proven against the run's MongoDB (real or fallback).
 * A change stream opens lazily: each test pulls once (tryNext) before inserting.
 */
describe('MongoDB capabilities projectord relies on', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  beforeAll(async () => {
    ctx = await useTestDb('caps');
  });

  const evt = (aggregateId: string, version: number) => ({
    eventId: `${aggregateId}-${version}`,
    aggregateId,
    version,
    eventType: 'Test',
  });

  async function nextInsert(stream: {
    next(): Promise<Document>;
  }): Promise<ChangeStreamInsertDocument> {
    return (await stream.next()) as ChangeStreamInsertDocument;
  }

  it('a change stream sees inserts with fullDocument', async () => {
    const coll = ctx.db.collection('event_store_a');
    const stream = coll.watch([{ $match: { operationType: 'insert' } }]);
    await stream.tryNext();
    await coll.insertOne(evt('a1', 1));
    const change = await nextInsert(stream);
    expect(change.operationType).toBe('insert');
    expect(change.fullDocument).toMatchObject({ aggregateId: 'a1', version: 1 });
    await stream.close();
  });

  it('resumeAfter a stored token delivers exactly the events after it', async () => {
    const coll = ctx.db.collection('event_store_b');
    const stream = coll.watch([{ $match: { operationType: 'insert' } }]);
    await stream.tryNext();
    await coll.insertMany([evt('b', 1), evt('b', 2), evt('b', 3), evt('b', 4)]);
    const first = await nextInsert(stream);
    const second = await nextInsert(stream);
    expect(second.fullDocument.version).toBe(2);
    const token: ResumeToken = second._id;
    await stream.close();

    const resumed = coll.watch([{ $match: { operationType: 'insert' } }], { resumeAfter: token });
    const seen: number[] = [];
    for (let i = 0; i < 2; i++)
      seen.push((await nextInsert(resumed)).fullDocument.version as number);
    expect(first.fullDocument.version).toBe(1);
    expect(seen).toEqual([3, 4]);
    expect(await resumed.tryNext()).toBeNull();
    await resumed.close();
  });

  it('startAtOperationTime replays from the cluster time of an earlier event', async () => {
    const coll = ctx.db.collection('event_store_c');
    const stream = coll.watch([{ $match: { operationType: 'insert' } }]);
    await stream.tryNext();
    await coll.insertMany([evt('c', 1), evt('c', 2), evt('c', 3)]);
    await nextInsert(stream);
    const second = await nextInsert(stream);
    await stream.close();
    expect(second.clusterTime).toBeDefined();

    const replay = coll.watch([{ $match: { operationType: 'insert' } }], {
      startAtOperationTime: second.clusterTime,
    });
    const versions = [
      (await nextInsert(replay)).fullDocument.version,
      (await nextInsert(replay)).fullDocument.version,
    ];
    expect(versions).toEqual([2, 3]);
    await replay.close();
  });

  it('unordered bulkWrite with guarded upserts reports E11000 per op and applies the rest', async () => {
    const coll = ctx.db.collection('rm_guarded');
    await coll.insertOne({ _id: 'x' as never, version: 5, n: 5 });
    const guarded = (id: string, v: number) => ({
      updateOne: {
        filter: { _id: id as never, version: { $lt: v } },
        update: { $set: { version: v, n: v } },
        upsert: true,
      },
    });
    let error: unknown;
    try {
      await coll.bulkWrite([guarded('x', 3), guarded('y', 1), guarded('x', 6)], { ordered: false });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MongoBulkWriteError);
    const bulk = error as MongoBulkWriteError;
    expect(bulk.writeErrors).toHaveLength(1);
    const writeErrors: { code: number; index: number }[] = Array.isArray(bulk.writeErrors)
      ? (bulk.writeErrors as { code: number; index: number }[])
      : [bulk.writeErrors as { code: number; index: number }];
    expect(writeErrors[0]?.code).toBe(11000);
    expect(writeErrors[0]?.index).toBe(0);
    expect(await coll.findOne({ _id: 'x' as never })).toMatchObject({ version: 6 });
    expect(await coll.findOne({ _id: 'y' as never })).toMatchObject({ version: 1 });
  });

  it('an idle change stream carries a resume token that moves with the oplog (postBatchResumeToken)', async () => {
    const coll = ctx.db.collection('event_store_pbrt');
    await coll.insertOne(evt('p', 0));
    const stream = coll.watch([{ $match: { operationType: 'insert' } }], { maxAwaitTimeMS: 50 });
    expect(await stream.tryNext()).toBeNull();
    const idle = stream.resumeToken;
    expect(idle).toBeDefined();
    await ctx.db.collection('elsewhere_pbrt').insertOne({ n: 1 });
    expect(await stream.tryNext()).toBeNull();
    const moved = stream.resumeToken;
    expect(JSON.stringify(moved)).not.toBe(JSON.stringify(idle));
    await stream.close();

    await coll.insertOne(evt('p', 1));
    const resumed = coll.watch([{ $match: { operationType: 'insert' } }], { resumeAfter: moved });
    expect((await nextInsert(resumed)).fullDocument.version).toBe(1);
    await resumed.close();
  });

  it('replies carry operationTime and $clusterTime, and a write reports its own cluster time', async () => {
    const ping = await ctx.db.command({ ping: 1 });
    expect(ping.operationTime).toBeInstanceOf(Timestamp);
    expect((ping.$clusterTime as { clusterTime: unknown }).clusterTime).toBeInstanceOf(Timestamp);
    const coll = ctx.db.collection('event_store_optime');
    const stream = coll.watch([{ $match: { operationType: 'insert' } }], { maxAwaitTimeMS: 50 });
    await stream.tryNext();
    const insert = await ctx.db.command({ insert: coll.collectionName, documents: [evt('o', 1)] });
    const change = await nextInsert(stream);
    expect(change.clusterTime?.equals(insert.operationTime as Timestamp)).toBe(true);
    await stream.close();
  });

  it('a transaction commits its inserts with one cluster time and distinct, ordered tokens', async () => {
    const coll = ctx.db.collection('event_store_txn');
    await coll.insertOne(evt('t', 0));
    const stream = coll.watch([{ $match: { operationType: 'insert' } }], { maxAwaitTimeMS: 50 });
    await stream.tryNext();
    await ctx.client.withSession((session) =>
      session.withTransaction(async () => {
        await coll.insertOne(evt('debit', 1), { session });
        await coll.insertOne(evt('credit', 1), { session });
      }),
    );
    const debit = await nextInsert(stream);
    const credit = await nextInsert(stream);
    expect([debit.fullDocument.aggregateId, credit.fullDocument.aggregateId]).toEqual([
      'debit',
      'credit',
    ]);
    expect(debit.clusterTime?.equals(credit.clusterTime!)).toBe(true);
    expect(JSON.stringify(debit._id)).not.toBe(JSON.stringify(credit._id));
    await stream.close();

    const fromDebit = coll.watch([{ $match: { operationType: 'insert' } }], {
      resumeAfter: debit._id,
    });
    expect((await nextInsert(fromDebit)).fullDocument.aggregateId).toBe('credit');
    await fromDebit.close();
  });

  it('dropping the watched collection ends the stream: drop, then invalidate', async () => {
    const coll = ctx.db.collection('event_store_dropped');
    await coll.insertOne(evt('x', 1));
    const stream = coll.watch([], { maxAwaitTimeMS: 50 });
    await stream.tryNext();
    await coll.drop();
    const types = [(await stream.next()).operationType, (await stream.next()).operationType];
    expect(types).toEqual(['drop', 'invalidate']);
    await stream.close();
  });

  it('the unique {aggregateId, version} index rejects a second writer of the same version', async () => {
    const coll = ctx.db.collection('event_store_d');
    await coll.createIndex({ aggregateId: 1, version: 1 }, { unique: true });
    await coll.insertOne(evt('d', 1));
    await expect(coll.insertOne({ ...evt('d', 1), eventId: 'other' })).rejects.toMatchObject({
      code: 11000,
    });
    expect(await coll.countDocuments({ aggregateId: 'd' })).toBe(1);
  });
});
