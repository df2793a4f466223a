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
 * projector, on the same server in the same run, each in a fresh database. The order of the
 * contenders rotates between repetitions so none always runs on the warmest server.
 */
const EVENTS = 10_000;
const AGGREGATES = 200;
const REPS = 3;
const INSERT_BATCH = 500;

const SINGLE = { definition: singleUpsert, view: SINGLE_UPSERT_VIEW };
const OLD_DEFAULTS = { lanes: { concurrency: 64 }, writer: { flushIntervalMs: 5 } };
type Name =
  | 'bare change-stream reader'
  | 'naive projector (awaited updateOne)'
  | 'projectord, event-counter (2 writes/event)'
  | 'projectord, single upsert (same writes as naive)'
  | 'projectord, single upsert, the defaults before 0302ab9';
const STARTERS: Record<Name, (db: Db, n: number) => Promise<Contender>> = {
  'bare change-stream reader': bareReader,
  'naive projector (awaited updateOne)': naiveProjector,
  'projectord, event-counter (2 writes/event)': (db, n) => projectord(db, n),
  'projectord, single upsert (same writes as naive)': (db, n) =>
    projectord(db, n, { module: SINGLE }),
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
    ratios: {
      counterOverNaive:
        med('projectord, event-counter (2 writes/event)') /
        med('naive projector (awaited updateOne)'),
      singleOverNaive:
        med('projectord, single upsert (same writes as naive)') /
        med('naive projector (awaited updateOne)'),
      oldDefaultsOverNaive:
        med('projectord, single upsert, the defaults before 0302ab9') /
        med('naive projector (awaited updateOne)'),
      counterOverBare:
        med('projectord, event-counter (2 writes/event)') / med('bare change-stream reader'),
    },
  });
} finally {
  await server.stop();
}
