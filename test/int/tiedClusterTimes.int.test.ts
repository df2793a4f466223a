import { Timestamp, type Db, type Document } from 'mongodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toPosition, type Position } from '../../src/checkpoint/position.js';
import { createCheckpointStore } from '../../src/checkpoint/store.js';
import { eventStore } from '../../src/events/eventStore.js';
import type { Daemon } from '../../src/lifecycle/daemon.js';
import { defineProjection } from '../../src/modules/types.js';
import type { ChangeStreamSourceOptions, SourceItem } from '../../src/source/changeStream.js';
import { startEngine } from '../helpers/engine.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';
import { testEvent } from '../helpers/workload.js';

/**
 * Issue 15, item 1: a transfer's debit and credit are written in one transaction, so on a real
 * replica set both change events carry the same cluster time, with two tokens. Module `ledger-b`
 * stands after the credit, `ledger-a` between the two. Whichever comes first in the module list,
 * the one stream must start where `ledger-a` still gets the credit. The stream is played by a
 * seam that answers resumeAfter / startAtOperationTime as the server's oplog would (the embedded
 * server gives every insert its own time); the store, checkpoints and read models are real.
 */
const T = new Timestamp({ t: 1_800_000_000, i: 7 });
const debitToken = { _data: '826B49D200000000072B022C0100296E5A1004AA' };
const creditToken = { _data: '826B49D200000000072B022C0100296E5A1004AB' };

function ledger(name: string) {
  return defineProjection({
    name,
    version: 1,
    handles: ['TestEvent'],
    collections: [`${name}_seen`],
    apply(event, ctx) {
      ctx.upsert(`${name}_seen`, event.aggregateId, { set: { version: event.version } });
    },
  });
}

/** The server's stream over one transaction: both entries at T, debit first. */
function transactionStream(entries: { token: Document; raw: Document }[], starts: Position[]) {
  return async function* source(o: ChangeStreamSourceOptions): AsyncGenerator<SourceItem> {
    if (o.start) starts.push(o.start);
    const from = o.start?.token
      ? entries.findIndex((e) => JSON.stringify(e.token) === JSON.stringify(o.start?.token)) + 1
      : 0;
    for (const e of entries.slice(from)) {
      yield { kind: 'event', position: toPosition(e.token, T), raw: e.raw };
    }
    o.onOpen?.();
    while (!o.signal.aborted) {
      yield { kind: 'idle', position: undefined };
      await new Promise((r) => setTimeout(r, 20));
    }
  };
}

describe('modules standing inside one transaction (tied cluster times)', () => {
  let db: Db;
  let daemon: Daemon | undefined;
  beforeAll(async () => {
    ({ db } = await useTestDb('tied'));
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  it.each([
    ['ledger-b first', ['ledger-b', 'ledger-a']],
    ['ledger-a first', ['ledger-a', 'ledger-b']],
  ])('gives the lagging module the rest of the transaction (%s)', async (_name, order) => {
    const suffix = order[0] === 'ledger-b' ? 'x' : 'y';
    const [a, b] = [`ledger-a-${suffix}`, `ledger-b-${suffix}`];
    const debit = await storeRaw(db, testEvent(`from-${suffix}`, 1, new Date()));
    const credit = await storeRaw(db, testEvent(`to-${suffix}`, 1, new Date()));
    const checkpoints = createCheckpointStore(db);
    const save = (module: string, token: Document) =>
      checkpoints.save(module, {
        position: toPosition(token, T),
        moduleVersion: 1,
        mode: 'live',
        appliedDelta: 0,
        lastEventAt: null,
        instanceId: 'test',
      });
    await save(a, debitToken); // a applied the debit only
    await save(b, creditToken); // b applied both
    await db.collection(`${a}_seen`).insertOne({ _id: `from-${suffix}` as never, version: 1 });
    const starts: Position[] = [];
    const modules = order.map((n) => ledger(`${n}-${suffix}`));
    daemon = await startEngine(db, {
      modules,
      source: transactionStream(
        [
          { token: debitToken, raw: debit },
          { token: creditToken, raw: credit },
        ],
        starts,
      ),
    });
    await waitFor(() => db.collection(`${a}_seen`).findOne({ _id: `to-${suffix}` as never }), {
      what: `${a} to apply the credit of the transaction`,
    });
    expect(starts[0]?.token).toBeNull();
    expect(starts[0]?.clusterTime.equals(T)).toBe(true);
  });
});

async function storeRaw(db: Db, doc: Document): Promise<Document> {
  const { insertedId } = await eventStore(db).insertOne({ ...doc });
  return { ...doc, _id: insertedId };
}

describe('a real transaction on the run’s server (tied cluster times end to end)', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  let daemon: Daemon | undefined;
  beforeAll(async () => {
    ctx = await useTestDb('tied_e2e');
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  it('the module standing between debit and credit gets the credit from the live stream', async () => {
    const { db, client } = ctx;
    const coll = eventStore(db);
    await coll.insertOne(testEvent('before', 1, new Date()));
    const stream = coll.watch([{ $match: { operationType: 'insert' } }], { maxAwaitTimeMS: 50 });
    await stream.tryNext();
    await client.withSession((session) =>
      session.withTransaction(async () => {
        await coll.insertOne(testEvent('debit', 1, new Date()), { session });
        await coll.insertOne(testEvent('credit', 1, new Date()), { session });
      }),
    );
    const debit = await stream.next();
    const credit = await stream.next();
    await stream.close();
    expect(debit.clusterTime?.equals(credit.clusterTime!)).toBe(true);
    const checkpoints = createCheckpointStore(db);
    const save = (module: string, token: Document) =>
      checkpoints.save(module, {
        position: toPosition(token, debit.clusterTime!),
        moduleVersion: 1,
        mode: 'live',
        appliedDelta: 0,
        lastEventAt: null,
        instanceId: 'test',
      });
    await save('ledger-a-e2e', debit._id as Document);
    await save('ledger-b-e2e', credit._id as Document);
    daemon = await startEngine(db, { modules: [ledger('ledger-b-e2e'), ledger('ledger-a-e2e')] });
    await waitFor(() => db.collection('ledger-a-e2e_seen').findOne({ _id: 'credit' as never }), {
      what: 'ledger-a to apply the credit of the transaction',
    });
  });
});
