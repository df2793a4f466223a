import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { log, saveResult } from '../lib/results.js';
import slowUpsert, { SLOW_VIEW } from '../modules/slowUpsert.js';
import { projectord } from './contenders.js';
import { startBenchServer } from './server.js';
import { within } from './time.js';

/**
 * Scenario 3: memory while draining a backlog. 200,000 events are written first (by a child
 * process), then the daemon starts with a module that waits 1 ms per event and catches up
 * from event_store; this process's RSS is sampled every 250 ms until every event is applied.
 * Flat means: the lanes' in-flight bound and the source's backpressure hold, whatever the
 * backlog.
 */
// Issue #4 drains 200,000 events (the default); issue #8 asks 500,000: BENCH_MEMORY_EVENTS=500000.
const EVENTS = Number(process.env.BENCH_MEMORY_EVENTS ?? 200_000);
const AGGREGATES = 200;
const SAMPLE_MS = 250;
const inserter = fileURLToPath(new URL('./insertBacklog.js', import.meta.url));

const server = await startBenchServer();
try {
  const db = await server.freshDb('memory');
  log(`3: writing a backlog of ${EVENTS} events`);
  const insertStarted = performance.now();
  const r = spawnSync(
    process.execPath,
    [inserter, server.mongo.uri, db.databaseName, String(EVENTS), String(AGGREGATES)],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error(`writing the backlog failed (exit ${String(r.status)})`);
  const insertMs = performance.now() - insertStarted;
  const samples: { s: number; rssMb: number; heapMb: number; applied: number }[] = [];
  let applied = 0;
  const started = performance.now();
  const sample = () => {
    const m = process.memoryUsage();
    samples.push({
      s: (performance.now() - started) / 1000,
      rssMb: m.rss / 2 ** 20,
      heapMb: m.heapUsed / 2 ** 20,
      applied,
    });
  };
  sample();
  const timer = setInterval(sample, SAMPLE_MS);
  const contender = await projectord(db, EVENTS, {
    module: { definition: slowUpsert, view: SLOW_VIEW },
    onAck: (ids) => (applied += ids.length),
  });
  await within(contender.done, 600_000, `the daemon to drain ${EVENTS} events`);
  sample();
  clearInterval(timer);
  const drainS = (performance.now() - started) / 1000;
  await contender.stop();
  const rss = samples.map((x) => x.rssMb);
  const figures = {
    first: rss[0] ?? 0,
    peak: Math.max(...rss),
    last: rss[rss.length - 1] ?? 0,
  };
  log(
    `3: drained in ${drainS.toFixed(1)} s; RSS first/peak/last ${figures.first.toFixed(0)}/${figures.peak.toFixed(0)}/${figures.last.toFixed(0)} MB`,
  );
  saveResult('wire-memory', {
    backend: server.mongo.backend,
    events: EVENTS,
    aggregates: AGGREGATES,
    source: 'catch-up scan of event_store over the wire',
    insertS: insertMs / 1000,
    drainS,
    rssMb: figures,
    samples,
  });
} finally {
  await server.stop();
}
