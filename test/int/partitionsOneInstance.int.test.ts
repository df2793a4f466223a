import type { Db } from 'mongodb';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { CHECKPOINTS } from '../../src/checkpoint/store.js';
import { loadConfig } from '../../src/config/load.js';
import { DEAD_LETTERS } from '../../src/lanes/deadLetters.js';
import { EVENT_COUNTER_MODULE } from '../../src/modules/testing/eventCounter.js';
import { partitionOf } from '../../src/partitions/hash.js';
import { createDeadlineStore } from '../../src/reactions/deadlines.js';
import { counterConverged, counterEvents, poisonEvent, startEngine } from '../helpers/engine.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';
import { storedCounterTotal } from '../helpers/recompute.js';

/**
 * A module split into partitions on one instance (DESIGN.md "Partitions"): with no leases the
 * instance runs every partition; each keeps its own checkpoint `<module>#<p>`, counts only its
 * keys, and parks only its keys; a module of one partition keeps its plain checkpoint name.
 * Saga deadlines are claimed by the partitions their key hashes into ($mod on the stored hash).
 */
const N = 4;
const config = loadConfig({
  env: {},
  flags: {
    checkpoint: { everyEvents: 20, everyMs: 50 },
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
    modules: { partitions: { [EVENT_COUNTER_MODULE]: N } },
  },
});

describe('partitions on one instance', () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await useTestDb('partitions_one'));
  });

  it('catches up and follows with one checkpoint per partition, each running only its own keys', async () => {
    await db.collection('event_store').insertMany(counterEvents(24, 5));
    // Which aggregates each slot applied events of.
    const seen = new Map<string, Set<string>>();
    const daemon = await startEngine(db, {
      config,
      hooks: {
        onOutcome(slot, event) {
          const keys = seen.get(slot) ?? new Set<string>();
          keys.add(event.aggregateId);
          seen.set(slot, keys);
        },
      },
    });
    onTestFinished(() => daemon.stop());
    await counterConverged(db);
    await db
      .collection('event_store')
      .insertMany(counterEvents(24, 8).filter((e) => (e.version as number) > 5));
    await counterConverged(db);
    expect(await storedCounterTotal(db)).toBe(24 * 8);

    const slots = ['event-counter#0', 'event-counter#1', 'event-counter#2', 'event-counter#3'];
    expect(daemon.status().map((s) => s.slot)).toEqual(slots);
    for (let a = 0; a < 24; a++) {
      const p = partitionOf(`agg-${a}`, N);
      for (const [slot, keys] of seen) {
        expect(keys.has(`agg-${a}`), `agg-${a} (partition ${p}) in ${slot}`).toBe(
          slot === `event-counter#${p}`,
        );
      }
    }
    await waitFor(
      async () =>
        (
          await db
            .collection(CHECKPOINTS)
            .find({ clusterTime: { $exists: true } })
            .toArray()
        )
          .map((c) => c._id)
          .sort()
          .join() === slots.join(),
      { what: 'one saved checkpoint per partition' },
    );
    expect(
      await db.collection(CHECKPOINTS).countDocuments({ _id: EVENT_COUNTER_MODULE as never }),
    ).toBe(0);
  });

  it('parks a poison key in its own partition only; the other partitions go on', async () => {
    const daemon = await startEngine(db, { config });
    onTestFinished(() => daemon.stop());
    await db.collection('event_store').insertOne(poisonEvent('agg-3', 9));
    const parked = await waitFor(
      () => db.collection(DEAD_LETTERS).findOne({ key: 'agg-3', status: 'parked' }),
      { what: 'the poison event parked' },
    );
    expect(parked.module).toBe(EVENT_COUNTER_MODULE);
    const p = partitionOf('agg-3', N);
    await waitFor(() => daemon.status().find((s) => s.partition === p)?.parkedKeys === 1, {
      what: `partition ${p} holding the parked key`,
    });
    expect(
      daemon
        .status()
        .filter((s) => s.parkedKeys > 0)
        .map((s) => s.partition),
    ).toEqual([p]);
    // Keys of every partition still apply.
    await db
      .collection('event_store')
      .insertMany(counterEvents(24, 9).filter((e) => e.version === 9 && e.aggregateId !== 'agg-3'));
    await counterConverged(db);
  });

  it('claims a saga deadline only from the partitions its key hashes into', async () => {
    const store = createDeadlineStore(db);
    await store.ensureIndexes();
    const due = new Date(Date.now() - 1000);
    const keys = ['saga-a', 'saga-b', 'saga-c', 'saga-d', 'saga-e', 'saga-f'];
    for (const key of keys) await store.schedule('r', { id: key, key, dueAt: due, payload: {} });
    const mine = [0, 2];
    const claimed: string[] = [];
    for (;;) {
      const d = await store.claimNext([{ module: 'r', count: N, partitions: mine }], 'me', 60_000);
      if (!d) break;
      claimed.push(d.key);
    }
    const want = keys.filter((k) => mine.includes(partitionOf(k, N)));
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(keys.length);
    expect(claimed.sort()).toEqual(want.sort());
    // A whole-module scope still claims the rest.
    expect((await store.claimNext(['r'], 'me', 60_000))?.key).toBeDefined();
    expect(
      await store.claimNext([{ module: 'r', count: N, partitions: [] }], 'me', 60_000),
    ).toBeNull();
  });
});
