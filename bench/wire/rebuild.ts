import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Db } from 'mongodb';
import accountSummary, { ACCOUNT_SUMMARY_VIEW } from '../../projections/account-summary.js';
import { createUpcasterRegistry } from '../../src/dispatch/upcast.js';
import { EVENT_STORE } from '../../src/events/eventStore.js';
import { silentLogger } from '../../src/observability/logger.js';
import { rebuildModule } from '../../src/replay/rebuild.js';
import { log, saveResult } from '../lib/results.js';
import { median } from '../lib/stats.js';
import { BANK_UPCASTERS } from '../modules/bank.js';
import { benchConfig, startBenchServer } from './server.js';

/**
 * Scenario 6: catch-up and rebuild from a large store. A store of bank events (the `simulate`
 * workload, written by a child process) is rebuilt into account_summary_view with
 * `rebuildModule`, in process, as `projectord rebuild account-summary` does (no progress bar);
 * beside it, a bare `find()` reading every document in the (aggregateId, version) order the
 * rebuild's scan uses, with the same batch size. Repetitions alternate bare and rebuild on the
 * same store. Every rebuild is checked: one account_summary_view document per account created.
 * BENCH_REBUILD_EVENTS overrides the store's size.
 */
// The issue asks for 500,000: building that workload alone ran past 10 minutes here (the
// simulator's planner turns quadratic late in a run; see the report), too long for the suite.
const EVENTS = Number(process.env.BENCH_REBUILD_EVENTS ?? 200_000);
const INITIAL_ACCOUNTS = 1_000;
const REPS = Number(process.env.BENCH_REBUILD_REPS ?? 2);
const inserter = fileURLToPath(new URL('./insertBankStore.js', import.meta.url));

interface Written {
  events: number;
  accounts: number;
  byType: Record<string, number>;
}

function writeStore(uri: string, db: Db): Written {
  const r = spawnSync(
    process.execPath,
    [inserter, uri, db.databaseName, String(EVENTS), String(INITIAL_ACCOUNTS)],
    { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (r.status !== 0) throw new Error(`writing the store failed (exit ${String(r.status)})`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as Written;
}

async function bareScan(db: Db, batchSize: number): Promise<{ seconds: number; read: number }> {
  const started = performance.now();
  let read = 0;
  const cursor = db
    .collection(EVENT_STORE)
    .find({})
    .sort({ aggregateId: 1, version: 1 })
    .batchSize(batchSize);
  for await (const doc of cursor) if (doc._id !== undefined) read++;
  return { seconds: (performance.now() - started) / 1000, read };
}

async function rebuildOnce(db: Db, accounts: number) {
  // projectInto counts scanned events only when asked for progress (as the CLI's bar does).
  let scanned = 0;
  const started = performance.now();
  const result = await rebuildModule({
    db,
    module: accountSummary,
    upcasters: createUpcasterRegistry(BANK_UPCASTERS),
    config: benchConfig(db),
    logger: silentLogger(),
    signal: new AbortController().signal,
    onProgress: (n) => (scanned = n),
  });
  const seconds = (performance.now() - started) / 1000;
  const viewDocs = await db.collection(ACCOUNT_SUMMARY_VIEW).countDocuments();
  if (viewDocs !== accounts) {
    throw new Error(
      `account_summary_view holds ${viewDocs} documents, ${accounts} accounts were created`,
    );
  }
  return {
    seconds,
    scanned,
    handled: result.first.handled,
    invalid: result.first.invalid,
    secondPassHandled: result.second.handled,
    viewDocs,
  };
}

const server = await startBenchServer();
try {
  const db = await server.freshDb('rebuild');
  log(`6: writing a store of ${EVENTS} bank events`);
  const insertStarted = performance.now();
  const written = writeStore(server.mongo.uri, db);
  const insertS = (performance.now() - insertStarted) / 1000;
  const stored = await db.collection(EVENT_STORE).countDocuments();
  log(`6: ${stored} events, ${written.accounts} accounts written in ${insertS.toFixed(1)} s`);
  const batchSize = benchConfig(db).source.catchUpBatchSize;
  const reps = [];
  for (let i = 0; i < REPS; i++) {
    const bare = await bareScan(db, batchSize);
    if (bare.read !== stored) throw new Error(`the bare scan read ${bare.read} of ${stored}`);
    const rebuild = await rebuildOnce(db, written.accounts);
    if (rebuild.scanned !== stored)
      throw new Error(`the rebuild scanned ${rebuild.scanned} of ${stored}`);
    const rep = {
      bareEvPerSec: stored / bare.seconds,
      bareS: bare.seconds,
      rebuildEvPerSec: rebuild.scanned / rebuild.seconds,
      ratio: bare.seconds / rebuild.seconds,
      rebuild,
    };
    reps.push(rep);
    log(
      `6 rep ${i + 1}: bare scan ${Math.round(rep.bareEvPerSec)} events/s (${bare.seconds.toFixed(1)} s), ` +
        `rebuild ${Math.round(rep.rebuildEvPerSec)} events/s (${rebuild.seconds.toFixed(1)} s), ` +
        `${rebuild.viewDocs} accounts in the view`,
    );
  }
  const rebuildEvPerSec = median(reps.map((r) => r.rebuildEvPerSec));
  const bareEvPerSec = median(reps.map((r) => r.bareEvPerSec));
  saveResult('wire-rebuild', {
    backend: server.mongo.backend,
    events: stored,
    accounts: written.accounts,
    initialAccounts: INITIAL_ACCOUNTS,
    byType: written.byType,
    batchSize,
    insertS,
    reps,
    // The report's ratio is of these medians; each repetition's own ratio is kept beside it.
    median: { rebuildEvPerSec, bareEvPerSec },
  });
} finally {
  await server.stop();
}
