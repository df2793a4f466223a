import type { ConfigInput } from '../../src/config/schema.js';
import eventCounter from '../../src/modules/testing/eventCounter.js';
import type { ModuleDefinition } from '../../src/modules/types.js';
import { runEngine } from '../lib/engineHarness.js';
import { measure } from '../lib/measure.js';
import { createMemoryDb } from '../../src/modules/testing/memoryDb.js';
import { createCountingSink } from '../lib/memorySink.js';
import { createMemoryStore } from '../../src/modules/testing/memoryStore.js';
import { log, saveResult } from '../lib/results.js';
import { summarise, type EngineRunFigures } from './figures.js';
import { toStream, type StreamEvent } from '../lib/streamEvents.js';
import singleUpsert from '../modules/singleUpsert.js';
import { buildTestEvents } from '../workloads/testEvents.js';

/**
 * Scenario 1a: the engine's cost per event with one write-only module, no server. 200,000
 * `TestEvent`s over 10,000 interleaved aggregates go through the daemon's live path into a
 * sink that only counts. Each row is a module and a configuration; each run is checked (every
 * event applied, the expected number of writes sent) before its time counts.
 */
const EVENTS = 200_000;
const AGGREGATES = 10_000;
/** The lane and writer defaults the engine shipped with until commit 0302ab9, for comparison. */
export const OLD_DEFAULTS: ConfigInput = {
  lanes: { concurrency: 64 },
  writer: { flushIntervalMs: 5 },
};

interface Row {
  id: string;
  label: string;
  module: ModuleDefinition;
  writesPerEvent: number;
  config: ConfigInput;
  metrics?: boolean;
  runs: number;
}

const ROWS: Row[] = [
  {
    id: 'single-default',
    label: 'single upsert, default config',
    module: singleUpsert,
    writesPerEvent: 1,
    config: {},
    runs: 5,
  },
  {
    id: 'single-old-defaults',
    label: 'single upsert, the defaults before 0302ab9 (concurrency 64, flush every 5 ms)',
    module: singleUpsert,
    writesPerEvent: 1,
    config: OLD_DEFAULTS,
    runs: 3,
  },
  {
    id: 'single-default-metrics',
    label: 'single upsert, default config, with the `run` metrics hooks',
    module: singleUpsert,
    writesPerEvent: 1,
    config: {},
    metrics: true,
    runs: 3,
  },
  {
    id: 'single-inflight-2000',
    label: 'single upsert, lanes.maxInFlight 2000 (the default before this run)',
    module: singleUpsert,
    writesPerEvent: 1,
    config: { lanes: { maxInFlight: 2000 } },
    runs: 3,
  },
  {
    id: 'counter-default',
    label: 'event-counter (2 writes/event), default config',
    module: eventCounter,
    writesPerEvent: 2,
    config: {},
    runs: 3,
  },
];

async function once(row: Row, workload: readonly StreamEvent[]): Promise<EngineRunFigures> {
  const sink = createCountingSink();
  const m = await measure(() =>
    runEngine(workload, {
      modules: [row.module],
      sink,
      db: createMemoryDb(createMemoryStore()),
      config: row.config,
      ...(row.metrics ? { metrics: true } : {}),
    }),
  );
  const run = m.value;
  const applied = run.outcomes[row.module.name]?.applied ?? 0;
  // Spans fold an aggregate's consecutive events into one write per document: never more.
  if (applied !== workload.length || sink.ops > workload.length * row.writesPerEvent) {
    throw new Error(
      `${row.id}: ${applied} applied and ${sink.ops} writes for ${workload.length} events`,
    );
  }
  return {
    evPerSec: (run.events / run.ms) * 1000,
    usPerEvent: (run.ms * 1000) / run.events,
    cpuUsPerEvent: (m.cpuMs * 1000) / run.events,
    gcShare: m.gcMs / m.ms,
    load1: m.load1,
    batches: sink.batches,
    writesPerEvent: sink.ops / run.events,
  };
}

async function main(): Promise<void> {
  const workload = toStream(buildTestEvents(EVENTS, AGGREGATES));
  log(`1a: ${EVENTS} events over ${AGGREGATES} aggregates; warming up`);
  await once({ ...ROWS[0]!, runs: 1 }, workload.slice(0, 20_000));
  // BENCH_ROWS=single-default,… runs only those rows, for quick comparisons; nothing is saved.
  const only = process.env.BENCH_ROWS?.split(',');
  const rows = [];
  for (const row of only ? ROWS.filter((r) => only.includes(r.id)) : ROWS) {
    const runs: EngineRunFigures[] = [];
    for (let i = 0; i < row.runs; i++) {
      const r = await once(row, workload);
      runs.push(r);
      log(
        `1a ${row.id} run ${i + 1}: ${Math.round(r.evPerSec)} events/s, ${r.cpuUsPerEvent.toFixed(1)} µs CPU/event, ${(r.writesPerEvent ?? 0).toFixed(3)} writes/event`,
      );
    }
    rows.push({ id: row.id, label: row.label, config: row.config, runs, median: summarise(runs) });
  }
  if (!only) saveResult('engine-single', { events: EVENTS, aggregates: AGGREGATES, rows });
}

await main();
