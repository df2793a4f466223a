import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { stringify } from 'yaml';
import { startMongo, type EmbeddedMongo } from '../src/mongo/starter.js';
import { createLogger } from '../src/observability/logger.js';
import { createSimulator, type SimulationSummary } from '../src/simulate/index.js';
import { mongoTarget, proxiedMongoUri, startTcpProxy } from '../test/helpers/tcpProxy.js';
import { createRng } from '../test/helpers/workload.js';
import { progressPoints, runCuts, runKills, runPoison, type ChaosStats } from './chaos.js';
import type { Verdict } from './checks.js';
import { createInstance, type Instance } from './instances.js';
import { appendPoison, type PoisonEvent } from './poison.js';
import { settle } from './settle.js';
import { summaryLine } from './summary.js';
import { verifyViaCli } from './verifyCli.js';

/**
 * The torture run (issue "Proof"): the bank workload (createSimulator, ~5 % schema "1.0"
 * debits) with poison events sprinkled in, `instances` `projectord run` processes sharing ALL
 * built-in modules, every daemon connection through a TCP proxy that resets them all every
 * `cutEveryMs`, `kills` SIGKILLs at random moments (each instance restarted), then a settle
 * and the end-state checks (checks.ts) plus `projectord verify`. Returns the verdicts and one
 * summary line; `ok` only when every verdict passed and no daemon crashed.
 */
export interface TortureOptions {
  events: number;
  kills: number;
  seed: number;
  /** An existing server; absent: the embedded one (started and stopped here). */
  mongoUri?: string;
  cutEveryMs: number;
  poison: number;
  instances: number;
  accounts: number;
  /** Simulator events per second; absent: as fast as the store takes them. */
  rate?: number;
  settleTimeoutMs: number;
  /** The transfer saga's timeout (a short one lets every transfer end within the settle). */
  sagaTimeoutMs?: number;
  /** How long a SIGTERMed instance may take to exit before the stop counts as hung. */
  stopTimeoutMs?: number;
  log: (line: string) => void;
}

export interface TortureResult {
  ok: boolean;
  summary: string;
  verdicts: Verdict[];
  simulation: SimulationSummary;
  poison: PoisonEvent[];
  stats: ChaosStats;
  /** Each instance's last output, for a failure report. */
  outputs: Record<string, string>;
  /** Where each instance's whole output is (`<id>.log`): kept only when the run failed. */
  logDir?: string;
}

function daemonConfig(sagaTimeoutMs: number): Record<string, unknown> {
  return {
    leases: { ttlMs: 8000, heartbeatMs: 1500 },
    checkpoint: { everyEvents: 200, everyMs: 250 },
    shutdown: { timeoutMs: 15_000 },
    // Short saga timers, so every transfer finishes within the settle time.
    bank: {
      sagas: { transfer: { creditDelayMs: 500, timeoutMs: sagaTimeoutMs, retryBaseDelayMs: 500 } },
    },
  };
}

export async function runTorture(o: TortureOptions): Promise<TortureResult> {
  const started = Date.now();
  const cleanup: (() => Promise<void> | void)[] = [];
  try {
    let uri = o.mongoUri;
    if (!uri) {
      const mongo: EmbeddedMongo = await startMongo(createLogger({ level: 'warn', pretty: false }));
      cleanup.push(() => mongo.stop());
      uri = mongo.uri;
      o.log(`MongoDB: embedded ${mongo.backend}`);
    }
    const client = new MongoClient(uri);
    cleanup.push(() => client.close());
    const dbName = `torture_${o.seed}_${randomBytes(3).toString('hex')}`;
    const db = client.db(dbName);
    const proxy = await startTcpProxy(mongoTarget(uri));
    cleanup.push(() => proxy.close());
    const dir = mkdtempSync(join(tmpdir(), 'projectord-torture-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    // Outside `dir`: a run that fails (or throws) keeps the daemons' whole output.
    const logDir = mkdtempSync(join(tmpdir(), 'projectord-torture-logs-'));
    let keepLogs = true;
    cleanup.push(() => {
      if (!keepLogs) rmSync(logDir, { recursive: true, force: true });
    });
    const configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, stringify(daemonConfig(o.sagaTimeoutMs ?? 30_000)));
    const proxied = proxiedMongoUri(uri, proxy);

    const instances: Instance[] = Array.from({ length: o.instances }, (_, k) => {
      const id = `torture-${String.fromCharCode(97 + k)}`;
      return createInstance({
        id,
        mongoUri: proxied,
        dbName,
        configFile,
        logFile: join(logDir, `${id}.log`),
      });
    });
    cleanup.push(async () => {
      await Promise.all(instances.map((i) => i.kill()));
    });
    for (const i of instances) i.start();
    o.log(
      `db ${dbName}; ${o.instances} instances through proxy :${proxy.port}; seed ${o.seed}; ` +
        `their output in ${logDir} (kept if the run fails)`,
    );

    let written = 0;
    const stats: ChaosStats = { kills: 0, cuts: 0 };
    const poison: PoisonEvent[] = [];
    const stopCuts = new AbortController();
    const stopAll = new AbortController();
    const progress = () => written;
    const ticker = setInterval(() => {
      o.log(
        `${written}/${o.events} events, ${poison.length} poison, ${stats.kills} kills, ${stats.cuts} cuts`,
      );
    }, 10_000);
    cleanup.push(() => clearInterval(ticker));

    const simulator = createSimulator({
      db,
      seed: o.seed,
      accounts: o.accounts,
      legacyShare: 0.05,
    });
    const simulation = simulator.run({
      count: o.events,
      ...(o.rate === undefined ? {} : { rate: o.rate }),
      onProgress: (n) => (written = n),
    });
    const cuts = runCuts({
      proxy,
      everyMs: o.cutEveryMs,
      rng: createRng(o.seed + 1),
      signal: stopCuts.signal,
      stats,
    });
    const kills = runKills({
      instances,
      points: progressPoints(createRng(o.seed + 2), o.kills, o.events),
      progress,
      rng: createRng(o.seed + 3),
      signal: stopAll.signal,
      stats,
      log: o.log,
    });
    const poisoning = runPoison({
      points: progressPoints(createRng(o.seed + 4), o.poison, o.events),
      progress,
      signal: stopAll.signal,
      append: async (n) => {
        poison.push(await appendPoison(db, o.seed, n));
      },
    });
    let summary: SimulationSummary;
    try {
      summary = await simulation;
    } catch (e) {
      stopAll.abort();
      stopCuts.abort();
      await Promise.allSettled([kills, poisoning, cuts]);
      throw e;
    }
    written = Math.max(written, o.events);
    await Promise.all([kills, poisoning]);
    stopCuts.abort();
    await cuts;
    const faultsMs = Date.now() - started;
    o.log(
      `faults over after ${Math.round(faultsMs / 1000)} s: ${summary.events} events, ${stats.kills} kills, ${stats.cuts} cuts; settling`,
    );

    const settled = await settle({
      db,
      instances,
      poison,
      depositsCents: Math.round(summary.initialDeposits * 100),
      timeoutMs: o.settleTimeoutMs,
      intervalMs: o.events > 20_000 ? 5000 : 1000,
      log: o.log,
    });
    const verify = await verifyViaCli({
      poison: new Set(poison.map((p) => p.eventId)),
      mongoUri: uri,
      dbName,
      configFile,
      timeoutMs: 30 * 60_000,
    });
    const crashes = instances.flatMap((i) => i.unexpectedExits.map((e) => `${i.id} ${e}`));
    // The config's shutdown.timeoutMs is 15 s: a stop that takes twice that is hung.
    const stopMs = o.stopTimeoutMs ?? 30_000;
    const stopped = await Promise.all(
      instances.map(async (i) => `${i.id} ${String(await i.terminate(stopMs))}`),
    );
    const verdicts: Verdict[] = [
      ...settled.verdicts,
      verify,
      { name: 'crashes', ok: crashes.length === 0, detail: crashes.join('; ') || 'none' },
      {
        name: 'stop',
        ok: stopped.every((s) => s.endsWith(' 0')),
        detail: `SIGTERM exit codes (hung: no exit within ${stopMs} ms): ${stopped.join(', ')}`,
      },
    ];
    const ok = verdicts.every((v) => v.ok || v.waived !== undefined);
    if (ok && o.mongoUri) await db.dropDatabase().catch(() => undefined);
    const line = summaryLine({
      ok,
      seed: o.seed,
      simulation: summary,
      facts: settled.facts,
      poison: poison.length,
      stats,
      verdicts,
      wallMs: Date.now() - started,
      settleMs: settled.settleMs,
    });
    const outputs = Object.fromEntries(instances.map((i) => [i.id, i.output()]));
    keepLogs = !ok;
    return {
      ok,
      summary: line,
      verdicts,
      simulation: summary,
      poison,
      stats,
      outputs,
      ...(ok ? {} : { logDir }),
    };
  } finally {
    for (const release of cleanup.reverse()) {
      await Promise.resolve()
        .then(release)
        .catch((e: unknown) => o.log(`cleanup failed: ${String(e)}`));
    }
  }
}
