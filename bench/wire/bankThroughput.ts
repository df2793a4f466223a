import type { Db } from 'mongodb';
import { eventStore } from '../../src/events/eventStore.js';
import { idString } from '../../src/dispatch/validate.js';
import type { ModuleDefinition, ProjectionDefinition } from '../../src/modules/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { log, saveResult } from '../lib/results.js';
import { median } from '../lib/stats.js';
import { BANK_MODULES, BANK_UPCASTERS } from '../modules/bank.js';
import { buildBankEvents, type BankWorkload } from '../workloads/bankEvents.js';
import { bareReader, startUntilStreamOpen, type Contender } from './contenders.js';
import { naiveBankProjector } from './naiveBank.js';
import { benchConfig, startBenchServer } from './server.js';
import { within } from './time.js';

/**
 * Scenario 2b: the bank workload over the wire. The `simulate` workload (built in memory,
 * bench/workloads/bankEvents.ts) is inserted with insertMany in batches of 1,000 as fast as the
 * server takes it; events/s from the first insert until every module has finished every
 * workload event it handles (its lane reported the outcome, writes acknowledged). Beside
 * projectord running the four bank projections: a bare change-stream reader and a naive
 * projector running the same four projections with every write awaited on its own
 * (naiveBank.ts). The reactions are left out: they append to the accounts the workload writes,
 * so they need a live command side (`simulate`, which retries on a conflict), not a workload
 * built beforehand — see the report. Every run is checked before its time counts. One untimed
 * round on a quarter of the workload first (the server's JIT), then REPS rounds in rotating
 * order. BENCH_BANK_EVENTS overrides the workload's size.
 */
const EVENTS = Number(process.env.BENCH_BANK_EVENTS ?? 20_000);
const ACCOUNTS = 200;
const REPS = Number(process.env.BENCH_BANK_REPS ?? 3);
const INSERT_BATCH = 1000;

const PROJECTIONS = BANK_MODULES.filter((m): m is ProjectionDefinition => m.kind === 'projection');

const BARE = 'bare change-stream reader';
const NAIVE = 'naive projector, the 4 projections (each write awaited)';
const PROJ = 'projectord, the 4 projections';
type Name = typeof BARE | typeof NAIVE | typeof PROJ;

/** Per module, how many workload events it handles; and the workload's event ids. */
function expectations(
  w: BankWorkload,
  modules: readonly ModuleDefinition[],
): { ids: Set<string>; perModule: Map<string, number> } {
  const ids = new Set<string>();
  const byType = new Map<string, number>();
  for (const e of w.events) {
    const id = idString(e.eventId);
    if (id) ids.add(id);
    byType.set(String(e.eventType), (byType.get(String(e.eventType)) ?? 0) + 1);
  }
  const perModule = new Map<string, number>();
  for (const m of modules) {
    const n = m.handles.reduce((sum, t) => sum + (byType.get(t) ?? 0), 0);
    if (n > 0) perModule.set(m.name, n);
  }
  return { ids, perModule };
}

interface BankContender extends Contender {
  /** Workload events a module dead-lettered (must be 0). */
  deadLettered(): number;
}

async function projectordBank(
  db: Db,
  w: BankWorkload,
  modules: readonly ModuleDefinition[],
): Promise<BankContender> {
  const { ids, perModule } = expectations(w, modules);
  const seen = new Map<string, Set<string>>([...perModule.keys()].map((m) => [m, new Set()]));
  let deadLettered = 0;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const daemon = await startUntilStreamOpen({
    db,
    config: benchConfig(db),
    modules,
    upcasters: BANK_UPCASTERS,
    logger: silentLogger(),
    hooks: {
      onOutcome: (module, event, outcome) => {
        if (outcome === 'waiting' || !ids.has(event.eventId)) return;
        const s = seen.get(module);
        if (!s || s.has(event.eventId)) return;
        s.add(event.eventId);
        if (outcome === 'dead_lettered') deadLettered++;
        if (s.size === perModule.get(module)) {
          perModule.delete(module);
          if (perModule.size === 0) finish();
        }
      },
    },
  });
  return { done, stop: () => daemon.stop(), deadLettered: () => deadLettered };
}

const STARTERS: Record<Name, (db: Db, w: BankWorkload) => Promise<Contender | BankContender>> = {
  [BARE]: (db, w) => bareReader(db, w.events.length),
  [NAIVE]: (db, w) => naiveBankProjector(db, PROJECTIONS, BANK_UPCASTERS, w.events.length),
  [PROJ]: (db, w) => projectordBank(db, w, PROJECTIONS),
};

/** What a finished run must show before its time counts. */
async function check(
  db: Db,
  name: Name,
  w: BankWorkload,
  c: Contender | BankContender,
): Promise<void> {
  const dead = 'deadLettered' in c ? c.deadLettered() : 0;
  if (dead > 0) throw new Error(`${name}: ${dead} workload events were dead-lettered`);
  if (name === BARE) return;
  const accounts = await db.collection('account_summary_view').countDocuments();
  const created = w.byType.AccountCreated ?? 0;
  if (accounts !== created) {
    throw new Error(`${name}: account_summary_view holds ${accounts} accounts, ${created} created`);
  }
  const moves = (w.byType.FundsDebited ?? 0) + (w.byType.FundsCredited ?? 0);
  const history = await db.collection('transaction_history_view').countDocuments();
  if (history !== moves) {
    throw new Error(
      `${name}: transaction_history_view holds ${history} entries, ${moves} expected`,
    );
  }
}

async function race(db: Db, name: Name, w: BankWorkload): Promise<number> {
  const contender = await STARTERS[name](db, w);
  const started = performance.now();
  for (let i = 0; i < w.events.length; i += INSERT_BATCH) {
    await eventStore(db).insertMany(w.events.slice(i, i + INSERT_BATCH), { ordered: true });
  }
  await within(contender.done, 1_800_000, `${name} to finish ${w.events.length} events`);
  const ms = performance.now() - started;
  await contender.stop();
  await check(db, name, w, contender);
  return (w.events.length / ms) * 1000;
}

// The same documents go into a fresh database per contender (every one carries its _id).
const workload = (events: number, seed: number): BankWorkload =>
  buildBankEvents({ events, accounts: ACCOUNTS, seed });

const server = await startBenchServer();
try {
  const names = Object.keys(STARTERS) as Name[];
  const warm = workload(Math.max(1000, Math.round(EVENTS / 4)), 98);
  for (const name of names) {
    const evPerSec = await race(await server.freshDb('bankwarm'), name, warm);
    log(`2b warm-up ${name}: ${Math.round(evPerSec)} events/s (not counted)`);
  }
  const figures = new Map<Name, number[]>(names.map((n) => [n, []]));
  let last: BankWorkload | undefined;
  for (let rep = 0; rep < REPS; rep++) {
    const w = workload(EVENTS, 200 + rep);
    last = w;
    log(`2b rep ${rep + 1}: ${w.events.length} events over ${w.accounts} accounts`);
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + rep) % names.length]!;
      const evPerSec = await race(await server.freshDb(`bank${rep}`), name, w);
      figures.get(name)?.push(evPerSec);
      log(`2b rep ${rep + 1} ${name}: ${Math.round(evPerSec)} events/s`);
    }
  }
  const med = (n: Name) => median(figures.get(n) ?? []);
  const paired = (a: Name, b: Name) =>
    (figures.get(a) ?? []).map((x, i) => x / (figures.get(b)?.[i] ?? Number.NaN));
  saveResult('wire-bank-throughput', {
    backend: server.mongo.backend,
    events: EVENTS,
    initialAccounts: ACCOUNTS,
    accounts: last?.accounts,
    byType: last?.byType,
    reps: REPS,
    rows: names.map((n) => ({ name: n, runs: figures.get(n), median: med(n) })),
    pairedRatios: { projectionsOverNaive: paired(PROJ, NAIVE) },
    ratios: {
      projectionsOverNaive: median(paired(PROJ, NAIVE)),
      projectionsOverBare: med(PROJ) / med(BARE),
    },
  });
} finally {
  await server.stop();
}
