import type { Db } from 'mongodb';
import { eventStore } from '../../src/events/eventStore.js';
import { log, saveResult } from '../lib/results.js';
import { median } from '../lib/stats.js';
import singleUpsert, { SINGLE_UPSERT_VIEW } from '../modules/singleUpsert.js';
import { buildTestEvents } from '../workloads/testEvents.js';
import { bareReader, naiveProjector, projectord, type Contender } from './contenders.js';
import { startBenchServer } from './server.js';
import { within } from './time.js';

/**
 * Scenario 2: events/s over the wire, from the first insert until every event is applied (or,
 * for the bare reader, read), for projectord, a bare change-stream reader and a naive
 * projector, on the same server in the same run, each in a fresh database. One untimed round
 * of every contender comes first: a fresh JVM compiles its hot paths during its first seconds
 * (the first run of each process here cost the server 2–3× the CPU of later ones), and that
 * cost must not land on whichever contender happens to go first. Then the order of the
 * contenders rotates between repetitions so none always runs on the warmest server, and each
 * ratio is also taken per repetition (contenders of one round ran minutes apart at most).
 */
const EVENTS = 10_000;
const AGGREGATES = 200;
const REPS = Number(process.env.BENCH_WIRE_REPS ?? 5);
const INSERT_BATCH = 500;

const SINGLE = { definition: singleUpsert, view: SINGLE_UPSERT_VIEW };
const OLD_DEFAULTS = { lanes: { concurrency: 64 }, writer: { flushIntervalMs: 5 } };
const SINGLE_ROW = 'projectord, single upsert (same writes as naive)';
const COUNTER_ROW = 'projectord, event-counter (2 writes/event)';
const NAIVE_ROW = 'naive projector (awaited updateOne)';
type Name =
  | 'bare change-stream reader'
  | typeof NAIVE_ROW
  | typeof SINGLE_ROW
  | typeof COUNTER_ROW
  | 'projectord, single upsert, the defaults before 0302ab9';
const STARTERS: Record<Name, (db: Db, n: number) => Promise<Contender>> = {
  'bare change-stream reader': bareReader,
  [NAIVE_ROW]: naiveProjector,
  // The module of the target: one guarded upsert per event, the naive projector's writes.
  [SINGLE_ROW]: (db, n) => projectord(db, n, { module: SINGLE }),
  [COUNTER_ROW]: (db, n) => projectord(db, n),
  // The lane and writer defaults the engine had until commit 0302ab9 (concurrency 64, 5 ms timer).
  'projectord, single upsert, the defaults before 0302ab9': (db, n) =>
    projectord(db, n, { module: SINGLE, config: OLD_DEFAULTS }),
};

async function race(db: Db, name: Name, seed: number): Promise<number> {
  const contender = await STARTERS[name](db, EVENTS);
  const events = buildTestEvents(EVENTS, AGGREGATES, seed);
  const started = performance.now();
  for (let i = 0; i < events.length; i += INSERT_BATCH) {
    await eventStore(db).insertMany(events.slice(i, i + INSERT_BATCH), { ordered: true });
  }
  await within(contender.done, 300_000, `${name} to apply ${EVENTS} events`);
  const ms = performance.now() - started;
  await contender.stop();
  return (EVENTS / ms) * 1000;
}

/**
 * The server's own ceiling for the naive projector's writes, without any change stream: the
 * same guarded upserts sent as unordered bulkWrites of 500, and awaited one at a time. The
 * ratio bounds what batching can win on this server.
 */
async function serverCeiling(db: Db, mode: 'bulk' | 'awaited'): Promise<number> {
  const coll = db.collection<{ _id: string }>('ceiling');
  const ops = buildTestEvents(EVENTS, AGGREGATES, 5).map((e) => ({
    updateOne: {
      filter: { _id: String(e.aggregateId), version: { $lt: Number(e.version) } },
      update: { $inc: { count: 1 }, $set: { lastEventId: String(e.eventId), version: e.version } },
      upsert: true,
    },
  }));
  const started = performance.now();
  if (mode === 'bulk') {
    for (let i = 0; i < ops.length; i += 500) {
      await coll.bulkWrite(ops.slice(i, i + 500), { ordered: false });
    }
  } else {
    for (const op of ops)
      await coll.updateOne(op.updateOne.filter, op.updateOne.update, { upsert: true });
  }
  return (ops.length / (performance.now() - started)) * 1000;
}

const server = await startBenchServer();
try {
  const names = Object.keys(STARTERS) as Name[];
  for (const name of names) {
    const evPerSec = await race(await server.freshDb('warm'), name, 99);
    log(`2 warm-up ${name}: ${Math.round(evPerSec)} events/s (not counted)`);
  }
  const figures = new Map<Name, number[]>(names.map((n) => [n, []]));
  for (let rep = 0; rep < REPS; rep++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + rep) % names.length]!;
      const evPerSec = await race(await server.freshDb(`tp${rep}`), name, 100 + rep);
      figures.get(name)?.push(evPerSec);
      log(`2 rep ${rep + 1} ${name}: ${Math.round(evPerSec)} events/s`);
    }
  }
  const ceiling = { bulk: [] as number[], awaited: [] as number[] };
  for (let rep = 0; rep < REPS; rep++) {
    for (const mode of ['bulk', 'awaited'] as const) {
      ceiling[mode].push(await serverCeiling(await server.freshDb(`ceil${rep}`), mode));
    }
    log(
      `2 server ceiling rep ${rep + 1}: bulk ${Math.round(ceiling.bulk[rep] ?? 0)}/s, awaited ${Math.round(ceiling.awaited[rep] ?? 0)}/s`,
    );
  }
  const med = (n: Name) => median(figures.get(n) ?? []);
  // Per repetition: both contenders of a ratio ran in the same round, minutes apart at most.
  const paired = (a: Name, b: Name) => {
    const xs = figures.get(a) ?? [];
    const ys = figures.get(b) ?? [];
    return xs.map((x, i) => x / (ys[i] ?? NaN));
  };
  saveResult('wire-throughput', {
    backend: server.mongo.backend,
    events: EVENTS,
    aggregates: AGGREGATES,
    reps: REPS,
    rows: names.map((n) => ({ name: n, runs: figures.get(n), median: med(n) })),
    serverCeiling: {
      bulkOpsPerSec: median(ceiling.bulk),
      awaitedOpsPerSec: median(ceiling.awaited),
      ratio: median(ceiling.bulk) / median(ceiling.awaited),
      runs: ceiling,
    },
    warmUp: true,
    pairedRatios: {
      singleOverNaive: paired(SINGLE_ROW, NAIVE_ROW),
      counterOverNaive: paired(COUNTER_ROW, NAIVE_ROW),
    },
    ratios: {
      counterOverNaive: med(COUNTER_ROW) / med(NAIVE_ROW),
      singleOverNaive: med(SINGLE_ROW) / med(NAIVE_ROW),
      singleOverNaivePaired: median(paired(SINGLE_ROW, NAIVE_ROW)),
      counterOverNaivePaired: median(paired(COUNTER_ROW, NAIVE_ROW)),
      oldDefaultsOverNaive:
        med('projectord, single upsert, the defaults before 0302ab9') /
        med('naive projector (awaited updateOne)'),
      counterOverBare: med(COUNTER_ROW) / med('bare change-stream reader'),
      singleOverBare: med(SINGLE_ROW) / med('bare change-stream reader'),
    },
  });
} finally {
  await server.stop();
}
