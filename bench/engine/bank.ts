import type { ModuleDefinition } from '../../src/modules/types.js';
import { runEngine, type EngineRun } from '../lib/engineHarness.js';
import { measure } from '../lib/measure.js';
import { createMemoryEventLog } from '../lib/memoryEventLog.js';
import { createMemoryDb, createStoreSink } from '../../src/modules/testing/memoryDb.js';
import { createMemoryStore, type MemoryStore } from '../../src/modules/testing/memoryStore.js';
import { log, saveResult } from '../lib/results.js';
import { median } from '../lib/stats.js';
import { toStream, type StreamEvent } from '../lib/streamEvents.js';
import { BANK_MODULES, BANK_UPCASTERS } from '../modules/bank.js';
import { buildBankEvents } from '../workloads/bankEvents.js';
import { summarise, type EngineRunFigures } from './figures.js';

/**
 * Scenario 1b: every bank projection and reaction over a `simulate`-like workload, no server.
 * Reads and writes go to one memory store (its own time is reported apart as `storeShare`);
 * reactions append to an in-memory event log whose events are dispatched after the workload.
 * Then each module runs alone over the very stream the full run dispatched (appended events
 * included, so the fraud saga has its detections): its CPU µs per stream event and per event
 * it handles. "none" is the cost of reading, validating and routing events no module handles.
 */
const EVENTS = 30_000;
const ACCOUNTS = 1_000;
const FULL_RUNS = 3;
const MODULE_RUNS = 3;

interface BankRun {
  figures: EngineRunFigures;
  run: EngineRun;
  storeShare: number;
  appends: number;
}

function checkConsistent(store: MemoryStore): number {
  let mismatches = 0;
  for (const doc of store.docs('account_summary_view')) {
    const running = store.findOne('transaction_history_balances', String(doc._id));
    const a = Number(doc.currentBalance);
    const b = Number(running?.balance);
    if (!(Math.abs(a - b) < 1e-6)) mismatches++;
  }
  return mismatches;
}

async function once(
  modules: readonly ModuleDefinition[],
  stream: readonly StreamEvent[],
  record = false,
): Promise<BankRun> {
  const store = createMemoryStore();
  const eventLog = createMemoryEventLog(stream, BANK_UPCASTERS);
  const m = await measure(() =>
    runEngine(stream, {
      modules,
      upcasters: BANK_UPCASTERS,
      sink: createStoreSink(store),
      db: createMemoryDb(store),
      log: eventLog,
      record,
    }),
  );
  const run = m.value;
  if (run.deadLetters.length > 0)
    throw new Error(`dead letters: ${run.deadLetters.slice(0, 3).join('; ')}`);
  if (modules.length === BANK_MODULES.length) {
    const bad = checkConsistent(store);
    if (bad > 0)
      throw new Error(`${bad} accounts differ between account-summary and transaction-history`);
  }
  return {
    run,
    storeShare: store.busyMs / run.ms,
    appends: eventLog.stats.appends,
    figures: {
      evPerSec: (run.events / run.ms) * 1000,
      usPerEvent: (run.ms * 1000) / run.events,
      cpuUsPerEvent: (m.cpuMs * 1000) / run.events,
      gcShare: m.gcMs / m.ms,
      load1: m.load1,
    },
  };
}

async function main(): Promise<void> {
  const workload = buildBankEvents({ events: EVENTS, accounts: ACCOUNTS, seed: 7 });
  const stream = toStream(workload.events);
  log(`1b: ${EVENTS} bank events, ${workload.accounts} accounts; warming up`);
  await once(BANK_MODULES, stream.slice(0, 3_000));
  const full: BankRun[] = [];
  for (let i = 0; i < FULL_RUNS; i++) {
    const r = await once(BANK_MODULES, stream, i === 0);
    full.push(r);
    log(
      `1b all modules run ${i + 1}: ${Math.round(r.figures.evPerSec)} events/s, ${r.figures.cpuUsPerEvent.toFixed(0)} µs CPU/event`,
    );
  }
  const recorded = full[0]?.run.dispatched ?? [];
  const perModule = [];
  for (const module of [undefined, ...BANK_MODULES]) {
    const runs: BankRun[] = [];
    for (let i = 0; i < MODULE_RUNS; i++) runs.push(await once(module ? [module] : [], recorded));
    const handled = module
      ? Object.values(runs[0]?.run.outcomes[module.name] ?? {}).reduce((a, b) => a + b, 0)
      : 0;
    const cpuUs = median(runs.map((r) => r.figures.cpuUsPerEvent));
    perModule.push({
      module: module?.name ?? '(none: dispatch only)',
      kind: module?.kind ?? '',
      handled,
      cpuUsPerStreamEvent: cpuUs,
      cpuUsPerHandledEvent: handled > 0 ? (cpuUs * recorded.length) / handled : 0,
      evPerSec: median(runs.map((r) => r.figures.evPerSec)),
      storeShare: median(runs.map((r) => r.storeShare)),
    });
    log(`1b ${module?.name ?? 'none'}: ${cpuUs.toFixed(1)} µs CPU per stream event`);
  }
  saveResult('engine-bank', {
    events: EVENTS,
    streamEvents: recorded.length,
    accounts: workload.accounts,
    byType: workload.byType,
    appends: full[0]?.appends ?? 0,
    outcomes: full[0]?.run.outcomes ?? {},
    runs: full.map((r) => r.figures),
    median: {
      ...summarise(full.map((r) => r.figures)),
      storeShare: median(full.map((r) => r.storeShare)),
    },
    perModule,
  });
}

await main();
