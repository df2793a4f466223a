import type { Config } from '../config/schema.js';
import { toError } from '../lib/errors.js';
import { loadModules } from '../modules/load.js';
import type { Logger, LogLevel } from '../observability/logger.js';
import { redactUri } from '../observability/redact.js';
import { createSimulator, formatSummary, type SimulationSummary } from '../simulate/index.js';
import { createDisplay, demoLogger, type DemoDisplay } from './display.js';
import { openEnvironment, type DemoEnvironment } from './environment.js';
import { createMonitor } from './monitor.js';
import type { DemoSettings } from './options.js';
import { judgeSettled } from './settle.js';
import { takeSnapshot } from './snapshot.js';
import { verifyAllProjections, type VerifyAllResult } from './verifyAll.js';

/**
 * `projectord demo`, in three phases on one picture:
 *   simulating   the simulator writes (n events, or until `stop` aborts) while the daemon follows;
 *   catching up  until every module has applied and checkpointed the store's newest event and
 *                no saga deadline is about to append more (bounded by a deadline);
 *   verifying    the daemon is stopped, then every projection is recomputed and compared.
 * The daemon's own logs are kept at warn unless --log-level says otherwise.
 */
export interface DemoOptions {
  settings: DemoSettings;
  config: Config;
  /** --mongo-uri given to the demo itself; else MONGODB_URI, else an embedded MongoDB. */
  mongoUri?: string | undefined;
  logLevel?: LogLevel | undefined;
  out: NodeJS.WriteStream;
  tty: boolean;
  /** Aborting stops the simulation; the demo then catches up and verifies. */
  stop: AbortSignal;
  env?: NodeJS.ProcessEnv;
  pollMs?: number;
  /** Longest wait for the modules to catch up once the simulation has ended. */
  settleTimeoutMs?: number;
}

export interface DemoOutcome {
  summary: SimulationSummary;
  /** Set when the modules did not catch up in time: what was still awaited. */
  notSettled?: string;
  verify: VerifyAllResult;
  /** Caught up, every projection matches event_store and every reaction check passed. */
  verified: boolean;
}

/** Saga deadlines due within this are work still to come; later ones (timeouts) are not. */
const DEADLINE_HORIZON_MS = 30_000;

export async function runDemo(o: DemoOptions): Promise<DemoOutcome> {
  const display = createDisplay({ out: o.out, tty: o.tty, plainEveryMs: 2000 });
  const logger = demoLogger(display, o.tty, o.logLevel ?? 'warn');
  let env: DemoEnvironment | undefined;
  try {
    const { modules } = await loadModules(o.config.modules, { cwd: process.cwd() });
    env = await openEnvironment({ config: o.config, mongoUri: o.mongoUri, logger, env: o.env });
    display.print(
      `demo: MongoDB ${env.mongo.backend} at ${redactUri(env.mongo.uri)}, database ` +
        `${env.config.db}, seed ${o.settings.seed}, ${modules.length} modules; ` +
        `metrics on http://127.0.0.1:${env.daemon.metricsPort}/metrics`,
    );
    return await phases(o, env, display, logger, modules.length);
  } finally {
    display.stop();
    await env?.release();
  }
}

async function phases(
  o: DemoOptions,
  env: DemoEnvironment,
  display: DemoDisplay,
  logger: Logger,
  moduleCount: number,
): Promise<DemoOutcome> {
  const { settings } = o;
  const { daemon } = env.daemon;
  let written = 0;
  const monitor = createMonitor({
    take: () =>
      takeSnapshot({ db: env.db, status: () => daemon.status(), horizonMs: DEADLINE_HORIZON_MS }),
    display,
    written: () => written,
    target: settings.events,
    intervalMs: o.pollMs ?? 500,
  });
  // A daemon that fails ends every phase at once; its error becomes the demo's.
  const failed = new AbortController();
  const failure: { error?: Error } = {};
  env.daemon.finished.catch((e: unknown) => {
    failure.error = toError(e);
    failed.abort();
  });
  const throwIfFailed = () => {
    if (failure.error) throw failure.error;
  };

  const simulator = createSimulator({
    db: env.db,
    seed: settings.seed,
    accounts: settings.accounts,
    logger,
  });
  const simDone = new AbortController();
  const simulation = simulator
    .run({
      ...(settings.events === undefined ? {} : { count: settings.events }),
      ...(settings.rate === undefined ? {} : { rate: settings.rate }),
      signal: AbortSignal.any([o.stop, failed.signal]),
      onProgress: (n) => (written = n),
    })
    .finally(() => simDone.abort());
  await monitor.run(
    'simulating',
    () => ({ done: false }),
    AbortSignal.any([simDone.signal, failed.signal]),
  );
  const summary = await simulation;
  throwIfFailed();

  const settleMs = o.settleTimeoutMs ?? 60_000 + summary.events * 20;
  const settled = await monitor.run(
    'catching up',
    (current, previous) => {
      const v = judgeSettled(current, previous, moduleCount);
      return v.settled ? { done: true } : { done: false, waitingFor: v.waitingFor };
    },
    AbortSignal.any([AbortSignal.timeout(settleMs), failed.signal]),
  );
  throwIfFailed();
  display.stop();
  await env.stopDaemon();

  const notSettled = settled ? undefined : (monitor.lastWaitingFor ?? 'the modules');
  o.out.write(`${formatSummary(summary)}\n`);
  if (notSettled) {
    o.out.write(
      `demo: not caught up within ${Math.round(settleMs / 1000)} s; still waiting for ${notSettled}\n`,
    );
  }
  o.out.write('verify (daemon stopped):\n');
  // Not o.stop: a Ctrl-C that ended the simulation must not cancel the verify that follows.
  const verify = await verifyAllProjections({
    db: env.db,
    config: env.config,
    logger,
    signal: new AbortController().signal,
  });
  o.out.write(`${verify.lines.join('\n')}\n`);
  return {
    summary,
    ...(notSettled ? { notSettled } : {}),
    verify,
    verified: verify.ok && !notSettled,
  };
}
