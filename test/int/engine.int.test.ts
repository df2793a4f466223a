import type { ObjectId } from 'mongodb';
import { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINTS } from '../../src/checkpoint/store.js';
import { eventStore } from '../../src/events/eventStore.js';
import { DEAD_LETTERS } from '../../src/lanes/deadLetters.js';
import type { Daemon } from '../../src/lifecycle/daemon.js';
import {
  EVENT_COUNTER_TOTALS,
  EVENT_COUNTER_VIEW,
} from '../../src/modules/testing/eventCounter.js';
import { changeStreamSource, HistoryLostError } from '../../src/source/changeStream.js';
import {
  counterConverged,
  engineTestConfig,
  poisonEvent,
  startEngine,
  type StartEngineOptions,
} from '../helpers/engine.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';
import { diffEventCounter, formatDifferences } from '../helpers/recompute.js';
import { testEvent } from '../helpers/workload.js';

/** The engine in process against the harness MongoDB, with the built-in event-counter module. */
describe('engine', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  let daemon: Daemon | undefined;
  beforeAll(async () => {
    ctx = await useTestDb('engine');
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  async function start(o: StartEngineOptions = {}): Promise<Daemon> {
    daemon = await startEngine(ctx.db, o);
    return daemon;
  }
  async function append(aggregateId: string, from: number, to: number): Promise<void> {
    const docs = [];
    for (let v = from; v <= to; v++) docs.push(testEvent(aggregateId, v, new Date()));
    await eventStore(ctx.db).insertMany(docs);
  }
  const converged = () => counterConverged(ctx.db);
  const counter = (id: string) =>
    ctx.db.collection(EVENT_COUNTER_VIEW).findOne({ _id: id as never });
  const untilCounter = (id: string, field: 'count' | 'version', n: number) =>
    waitFor(async () => (await counter(id))?.[field] === n, { what: `${id} at ${field} ${n}` });
  const checkpoint = () =>
    ctx.db.collection(CHECKPOINTS).findOne({ _id: 'event-counter' as never });
  const untilLive = () =>
    waitFor(async () => (await checkpoint())?.mode === 'live', { what: 'the live mode' });

  it('catches up on existing events, then follows the live stream', async () => {
    for (let a = 0; a < 10; a++) await append(`pre-${a}`, 1, 20);
    await start();
    for (let a = 0; a < 10; a++) await append(`live-${a}`, 1, 10);
    await append('pre-1', 21, 30);
    await converged();
    const totals = await ctx.db.collection(EVENT_COUNTER_TOTALS).findOne({ _id: 'all' as never });
    expect(totals?.events).toBe(310);
    await untilLive();
  });

  it('resumes after a clean stop without missing or repeating effects', async () => {
    await start();
    await append('resume-a', 1, 5);
    await converged();
    await daemon!.stop();
    const cp = await checkpoint();
    expect(cp?.token).toBeTruthy();
    await append('resume-a', 6, 9);
    await append('resume-b', 1, 3);
    await start();
    await converged();
    expect(formatDifferences(await diffEventCounter(ctx.db))).toBe('');
    const doc = await counter('resume-a');
    expect(doc).toMatchObject({ count: 9, version: 9 });
  });

  it('replaying from an older position changes nothing', async () => {
    await start();
    await append('replay-a', 1, 4);
    await converged();
    await daemon!.stop();
    await ctx.db.collection(CHECKPOINTS).deleteOne({ _id: 'event-counter' as never });
    const before = await ctx.db.collection(EVENT_COUNTER_TOTALS).findOne({ _id: 'all' as never });
    await start(); // no checkpoint: catches up over everything again
    await untilLive();
    const after = await ctx.db.collection(EVENT_COUNTER_TOTALS).findOne({ _id: 'all' as never });
    expect(after?.events).toBe(before?.events);
    await converged();
  });

  it('parks a poison event’s aggregate and lets every other aggregate go on', async () => {
    await start();
    await append('poison-ok', 1, 3);
    await eventStore(ctx.db).insertOne(poisonEvent('poison-x', 1));
    await append('poison-x', 2, 3);
    await append('poison-ok', 4, 6);
    await untilCounter('poison-ok', 'count', 6);
    const letters = await waitFor(async () => {
      const docs = await ctx.db
        .collection(DEAD_LETTERS)
        .find({ key: 'poison-x' })
        .sort({ order: 1 })
        .toArray();
      return docs.length === 3 ? docs : undefined;
    });
    expect(letters.map((d) => String(d.status))).toEqual(['parked', 'waiting', 'waiting']);
    expect(letters[0]?.attempts).toBe(2);
    expect(await counter('poison-x')).toBeNull();
  });

  it('dead-letters a malformed envelope naming the field, and never uses it as a filter', async () => {
    await start();
    await eventStore(ctx.db).insertOne({
      ...testEvent('x', 1, new Date()),
      aggregateId: { $ne: null },
    });
    await eventStore(ctx.db).insertOne({
      ...testEvent('bad-version', 1, new Date()),
      version: 'one',
    });
    await append('after-bad', 1, 2);
    await untilCounter('after-bad', 'count', 2);
    const invalid = await ctx.db.collection(DEAD_LETTERS).find({ status: 'invalid' }).toArray();
    expect(invalid.map((d) => (d.error as { field: string }).field).sort()).toEqual([
      'aggregateId',
      'version',
    ]);
    expect(
      await ctx.db
        .collection(EVENT_COUNTER_VIEW)
        .countDocuments({ lastEventId: { $exists: false } }),
    ).toBe(0);
  });

  it('never applies a change event whose insert is not in event_store (phantom first)', async () => {
    // The embedded fallback emits change events for inserts it refused (E11000), sometimes before
    // the winner's. The seam plays that: a phantom of ph v1 right before the real one.
    await start({
      async *source(o) {
        for await (const item of changeStreamSource(o)) {
          if (item.kind === 'event' && item.raw.aggregateId === 'ph' && item.raw.version === 1) {
            yield {
              ...item,
              raw: { ...testEvent('ph', 1, new Date()), eventData: { phantom: true } },
            };
          }
          yield item;
        }
      },
    });
    await append('ph', 1, 1);
    const real = await eventStore(ctx.db).findOne({ aggregateId: 'ph', version: 1 });
    await untilCounter('ph', 'count', 1);
    expect((await counter('ph'))?.lastEventId).toBe(String(real?.eventId as ObjectId));
  });

  it.each([
    ['always', 'debug'],
    ['never', 'warn'],
  ] as const)(
    'logs a phantom change event at %s confirmation as %s (routine only where the server emits them)',
    async (confirmInserts, level) => {
      const lines: { level: number; msg: string }[] = [];
      const logger = pino(
        { level: 'debug' },
        { write: (l: string) => void lines.push(JSON.parse(l) as { level: number; msg: string }) },
      );
      // A phantom of v1 with its own id, after the real one: both kinds of guard drop it.
      const id = `ph-${confirmInserts}`;
      await start({
        config: { ...engineTestConfig, source: { ...engineTestConfig.source, confirmInserts } },
        logger,
        async *source(o) {
          for await (const item of changeStreamSource(o)) {
            yield item;
            if (item.kind === 'event' && item.raw.aggregateId === id && item.raw.version === 1)
              yield { ...item, raw: { ...testEvent(id, 1, new Date()), eventData: {} } };
          }
        },
      });
      await append(id, 1, 2);
      await untilCounter(id, 'count', 2);
      const phantom = await waitFor(() => lines.find((l) => l.msg.includes('(a refused write)')), {
        what: 'the phantom log line',
      });
      expect(pino.levels.labels[phantom.level]).toBe(level);
    },
  );

  it('repairs a version gap from event_store when the stream skips an event', async () => {
    // The seam drops gap-a v2 from the live stream; the lane must fetch it before applying v3.
    await start({
      async *source(o) {
        for await (const item of changeStreamSource(o)) {
          if (item.kind === 'event' && item.raw.aggregateId === 'gap-a' && item.raw.version === 2)
            continue;
          yield item;
        }
      },
    });
    await append('gap-a', 1, 1);
    await untilCounter('gap-a', 'count', 1);
    await append('gap-a', 2, 4);
    await untilCounter('gap-a', 'version', 4);
    expect(await counter('gap-a')).toMatchObject({ count: 4 });
  });

  it('dead-letters an event whose earlier versions are missing from the store', async () => {
    await start();
    await append('hole', 1, 1);
    await untilCounter('hole', 'count', 1);
    await append('hole', 3, 3);
    const letter = await waitFor(() =>
      ctx.db.collection(DEAD_LETTERS).findOne({ key: 'hole', status: 'parked' }),
    );
    expect(letter.error).toMatchObject({ field: 'version' });
    expect(await counter('hole')).toMatchObject({ count: 1 });
  });

  it('falls back to catch-up when the resume position is lost from the oplog', async () => {
    await start();
    await append('hl', 1, 3);
    await untilCounter('hl', 'count', 3);
    await daemon!.stop();
    await append('hl', 4, 6);
    let calls = 0;
    await start({
      async *source(o) {
        calls++;
        if (calls === 1)
          throw new HistoryLostError(
            Object.assign(new Error('ChangeStreamHistoryLost'), { code: 286 }),
          );
        yield* changeStreamSource(o);
      },
    });
    await untilCounter('hl', 'version', 6);
    expect(calls).toBeGreaterThanOrEqual(2);
    expect(await counter('hl')).toMatchObject({ count: 6, version: 6 });
  });

  it('hands a module over when its writes are fenced (lease lost), and keeps running', async () => {
    let fenced = false;
    const running = await start({ hooks: { canWrite: () => !fenced } });
    await append('fence', 1, 2);
    await untilCounter('fence', 'count', 2);
    fenced = true;
    await append('fence', 3, 4);
    for (let i = 0; i < 20; i++) await append(`fence-${i}`, 1, 3);
    let failed: unknown;
    running.finished.catch((e: unknown) => (failed = e));
    await waitFor(async () => {
      const doc = await counter('fence');
      return doc?.count === 2 && running.status().length === 1;
    });
    fenced = false;
    await untilCounter('fence', 'count', 4);
    expect(failed).toBeUndefined();
  });
});
