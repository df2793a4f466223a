import { describe, expect, it } from 'vitest';
import type { ProjectorEvent } from '../../src/events/types.js';
import { createLane, type LaneOptions, type Outcome } from '../../src/lanes/lane.js';
import { defineProjection } from '../../src/modules/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { OpOutcome, WriteReceiver } from '../../src/writer/batchWriter.js';
import { upsertOperation, type Writes } from '../../src/writer/intents.js';

/**
 * The lane's hot path with spans (keyRunner.ts), against a writer the test answers by hand (the
 * seam: a real server cannot be made to hold an acknowledgment back on demand).
 */
const module = defineProjection({
  name: 'm',
  version: 1,
  handles: ['E'],
  collections: ['c'],
  apply: () => undefined,
});

function ev(aggregateId: string, version: number): ProjectorEvent {
  return {
    eventId: `${aggregateId}-${version}`,
    aggregateId,
    aggregateType: 'T',
    eventType: 'E',
    eventVersion: '1.0',
    version,
    eventTimestamp: new Date(0),
    eventData: {},
    eventMetadata: {},
  };
}

const writesOf = (e: ProjectorEvent): Writes => ({
  collections: ['c'],
  ops: [
    upsertOperation(
      e.aggregateId,
      { kind: 'version', aggregateId: e.aggregateId, version: e.version },
      {
        inc: { n: 1 },
        set: { last: e.eventId },
      },
    ),
  ],
});

function heldWriter() {
  const sent: { writes: Writes; receiver: WriteReceiver; ticket: number }[] = [];
  return {
    sent,
    submit(_m: string, writes: Writes, receiver: WriteReceiver, ticket: number) {
      sent.push({ writes, receiver, ticket });
    },
    answer(i: number, outcome: OpOutcome = 'applied') {
      const s = sent[i]!;
      s.writes.ops.forEach((_op, k) => s.receiver.written(s.ticket, k, outcome));
    },
  };
}

const settle = () => new Promise((r) => setImmediate(r));

function lane(o: Partial<LaneOptions> & Pick<LaneOptions, 'writer'>) {
  const finished: [number, Outcome][] = [];
  const l = createLane({
    module,
    maxInFlight: 100,
    concurrency: 8,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    execute: () => Promise.resolve('applied'),
    handle: writesOf,
    spans: true,
    fetchVersions: () => Promise.resolve([]),
    fetchBySourceId: () => Promise.resolve(undefined),
    logger: silentLogger(),
    onFinished: (seq, outcome) => finished.push([seq, outcome]),
    ...o,
  });
  return { l, finished };
}

describe('lane spans', () => {
  it("sends an aggregate's events queued behind its write as one write per document", async () => {
    const w = heldWriter();
    const { l, finished } = lane({ writer: w });
    for (let v = 1; v <= 5; v++) void l.push({ event: ev('a', v), raw: {}, seq: v });
    expect(w.sent).toHaveLength(1); // v1 went out alone; v2..v5 wait for its answer
    w.answer(0);
    expect(w.sent).toHaveLength(2);
    expect(w.sent[1]!.writes.ops).toEqual([
      {
        updateOne: {
          filter: { _id: 'a', version: { $lt: 2 } },
          update: { $set: { last: 'a-5', version: 5 }, $inc: { n: 4 } },
          upsert: true,
        },
      },
    ]);
    w.answer(1);
    await l.idle();
    expect(finished).toEqual([1, 2, 3, 4, 5].map((s) => [s, 'applied']));
  });

  it('re-runs a refused span (a document partly applied before) event by event', async () => {
    const w = heldWriter();
    const executed: string[] = [];
    const { l, finished } = lane({
      writer: w,
      execute: (e) => {
        executed.push(e.eventId);
        return Promise.resolve(e.version <= 3 ? 'duplicate' : 'applied');
      },
    });
    for (let v = 1; v <= 5; v++) void l.push({ event: ev('a', v), raw: {}, seq: v });
    w.answer(0);
    w.answer(1, 'duplicate'); // the document stood at version 3 already
    await l.idle();
    expect(executed).toEqual(['a-2', 'a-3', 'a-4', 'a-5']);
    expect(finished).toEqual([
      [1, 'applied'],
      [2, 'duplicate'],
      [3, 'duplicate'],
      [4, 'applied'],
      [5, 'applied'],
    ]);
  });

  it('sends the span before a handler reads, so the read sees every earlier event', async () => {
    const w = heldWriter();
    const readsAfter: number[] = [];
    const { l } = lane({
      writer: w,
      handle: async (e, barrier) => {
        if (e.version === 3) {
          await barrier.beforeRead();
          readsAfter.push(w.sent.length);
        }
        return writesOf(e);
      },
    });
    for (let v = 1; v <= 4; v++) void l.push({ event: ev('a', v), raw: {}, seq: v });
    await settle();
    // v1 and v2 joined a span; v3's read sent it and waits for it.
    expect(w.sent).toHaveLength(1);
    expect(w.sent[0]!.writes.ops[0]).toMatchObject({
      updateOne: { filter: { version: { $lt: 1 } }, update: { $inc: { n: 2 } } },
    });
    expect(readsAfter).toEqual([]);
    w.answer(0);
    await settle();
    expect(readsAfter).toEqual([1]);
    expect(w.sent).toHaveLength(2); // [v3, v4] as the next span
    expect(w.sent[1]!.writes.ops[0]).toMatchObject({
      updateOne: { filter: { version: { $lt: 3 } }, update: { $inc: { n: 2 } } },
    });
    w.answer(1);
    await l.idle();
  });

  it('counts a failing synchronous handler as its first attempt, then parks as before', async () => {
    let calls = 0;
    const parked: string[] = [];
    const w = heldWriter();
    const { l } = lane({
      writer: w,
      handle: () => {
        calls++;
        throw new Error('bad');
      },
      execute: () => {
        calls++;
        return Promise.reject(new Error('bad'));
      },
      deadLetters: {
        park: (e: { eventId: string }) => (parked.push(e.eventId), Promise.resolve()),
      } as unknown as LaneOptions['deadLetters'],
    });
    void l.push({ event: ev('a', 1), raw: {}, seq: 1 });
    await l.idle();
    expect(calls).toBe(2); // maxAttempts
    expect(parked).toEqual(['a-1']);
    expect(w.sent).toEqual([]);
  });
});
