import type { ConfigInput } from '../../src/config/schema.js';
import eventCounter from '../../src/modules/testing/eventCounter.js';
import type { ModuleDefinition } from '../../src/modules/types.js';
import { runEngine } from '../lib/engineHarness.js';
import { measure } from '../lib/measure.js';
import { createCountingSink, createMemoryDb } from '../lib/memorySink.js';
import { createMemoryStore } from '../lib/memoryStore.js';
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
const FLUSH_NOW: ConfigInput = { writer: { flushIntervalMs: 0 } };

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
    id: 'single-flush0',
    label: 'single upsert, `writer.flushIntervalMs: 0`',
    module: singleUpsert,
    writesPerEvent: 1,
    config: FLUSH_NOW,
    runs: 5,
  },
  {
    id: 'single-flush0-metrics',
    label: 'single upsert, flush 0, with the `run` metrics hooks',
    module: singleUpsert,
    writesPerEvent: 1,
    config: FLUSH_NOW,
    metrics: true,
    runs: 3,
  },
  {
    id: 'counter-flush0',
    label: 'event-counter (2 writes/event), flush 0',
    module: eventCounter,
    writesPerEvent: 2,
    config: FLUSH_NOW,
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
  if (applied !== workload.length || sink.ops !== workload.length * row.writesPerEvent) {
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
  };
}

async function main(): Promise<void> {
  const workload = toStream(buildTestEvents(EVENTS, AGGREGATES));
  log(`1a: ${EVENTS} events over ${AGGREGATES} aggregates; warming up`);
  await once({ ...ROWS[1]!, runs: 1 }, workload.slice(0, 20_000));
  const rows = [];
  for (const row of ROWS) {
    const runs: EngineRunFigures[] = [];
    for (let i = 0; i < row.runs; i++) {
      const r = await once(row, workload);
      runs.push(r);
      log(
        `1a ${row.id} run ${i + 1}: ${Math.round(r.evPerSec)} events/s, ${r.cpuUsPerEvent.toFixed(1)} µs CPU/event`,
      );
    }
    rows.push({ id: row.id, label: row.label, config: row.config, runs, median: summarise(runs) });
  }
  saveResult('engine-single', { events: EVENTS, aggregates: AGGREGATES, rows });
}

await main();
