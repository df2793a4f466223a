import type { Db, Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator } from '../../src/simulate/simulator.js';
import { useTestDb } from '../helpers/mongo.js';

/**
 * A seed fixes what is written (types, accounts, amounts, schema versions) on a database the
 * run has to itself; `rate` paces it and a signal stops it.
 */
describe('simulate: repeatable runs, pacing and stopping', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  const extra: Db[] = [];
  const freshDb = (name: string) => {
    const db = ctx.client.db(`${ctx.dbName}_${name}`);
    extra.push(db);
    return db;
  };

  beforeAll(async () => {
    ctx = await useTestDb('sim_seed');
  });
  afterAll(async () => {
    for (const db of extra) await db.dropDatabase();
  });

  /** What a seed must fix, in the order the events were appended. */
  async function sequence(db: Db): Promise<string[]> {
    const docs = await db.collection('event_store').find().sort({ _id: 1 }).toArray();
    return docs.map((d: Document) => {
      const data = d.eventData as Document;
      const amount: unknown = data.amount ?? data.initialBalance;
      return `${String(d.eventType)}/${String(d.eventVersion)} ${String(d.aggregateId)}@${String(d.version)} ${String(amount)}`;
    });
  }

  it('writes the same sequence for the same seed and a different one for another seed', async () => {
    const run = async (db: Db, seed: number) =>
      createSimulator({ db, seed, accounts: 6 }).run({ count: 200 });
    const [a, b, c] = [ctx.db, freshDb('b'), freshDb('c')];
    const summaries = [await run(a, 1234), await run(b, 1234), await run(c, 4321)];
    const [seqA, seqB, seqC] = [await sequence(a), await sequence(b), await sequence(c)];
    expect(seqA).toHaveLength(200);
    expect(seqB).toEqual(seqA);
    expect(seqC).toHaveLength(200);
    expect(seqC).not.toEqual(seqA);
    expect(summaries[1]).toEqual({ ...summaries[0], durationMs: summaries[1]!.durationMs });
  });

  it('paces a run to its rate', async () => {
    const db = freshDb('rate');
    const summary = await createSimulator({ db, seed: 5, accounts: 3 }).run({
      count: 30,
      rate: 60,
    });
    expect(summary.events).toBe(30);
    // Event i is not written before i/rate seconds: the 29th at 483 ms at the earliest.
    expect(summary.durationMs).toBeGreaterThanOrEqual(450);
  });

  it('stops on the signal after the command in progress and says so', async () => {
    const db = freshDb('signal');
    const stop = new AbortController();
    const progress: number[] = [];
    const summary = await createSimulator({ db, seed: 9, accounts: 3 }).run({
      rate: 500,
      signal: stop.signal,
      onProgress: (n) => {
        progress.push(n);
        if (n >= 20) stop.abort();
      },
    });
    expect(summary.stoppedBy).toBe('signal');
    expect(summary.events).toBe(progress[progress.length - 1]);
    expect(summary.events).toBeGreaterThanOrEqual(20);
    expect(summary.events).toBeLessThanOrEqual(21);
    expect(await db.collection('event_store').countDocuments()).toBe(summary.events);
  });
});
