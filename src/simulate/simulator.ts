import { setTimeout as delay } from 'node:timers/promises';
import type { Db } from 'mongodb';
import { requireEventStoreIndexes } from '../events/eventStore.js';
import { ProjectordError, toError, usageError } from '../lib/errors.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { createAccountBook } from './accountBook.js';
import { checkAccounts, checkCount, checkRate, checkSeed } from './options.js';
import { createPlanner, type ScenarioMix } from './planner.js';
import { createRandom } from './random.js';
import { createTally, type SimulationSummary } from './summary.js';
import { createCommandWriter } from './writer.js';

/**
 * The bank's command side as a workload generator (DOMAIN.md), for the CLI, the demo and the
 * benchmarks. A seed fixes the sequence of commands (types, accounts, amounts) on a database
 * the run has to itself; ids and times differ between runs. Several simulators may share a
 * database: they open the same account ids, adopt each other's accounts and resolve every
 * collision through the event store's optimistic concurrency.
 *
 * `run` may be called again to continue where the last one stopped (its summary covers that run
 * only); two runs at once are refused.
 */
export interface SimulatorOptions {
  db: Db;
  seed: number;
  /** Accounts opened first (the bank opens more as they run dry or reach their debit cap). */
  accounts: number;
  logger?: Logger;
  /** Business clock for event times and the 24-hour debit windows. */
  now?: () => Date;
  /** Share of USD debits written as FundsDebited "1.0" (no fee, no exchange rate). */
  legacyShare?: number;
  /** Prefix of account ids; simulators sharing it share accounts. */
  accountPrefix?: string;
  mix?: Partial<ScenarioMix>;
}

export interface RunOptions {
  /** Stop after this many events (the last command never splits a transfer). */
  count?: number;
  /** Events per second; absent: as fast as the store takes them. */
  rate?: number;
  /** Stops the run after the command in progress; required when there is no count. */
  signal?: AbortSignal;
  /** Called with the total events written after each command that wrote some. */
  onProgress?(events: number): void;
}

export interface Simulator {
  run(opts: RunOptions): Promise<SimulationSummary>;
}

/** Commands in a row that write nothing before the run is declared stuck. */
const MAX_IDLE_COMMANDS = 10_000;
const MAX_CATCH_UP_MS = 1000;

export function createSimulator(opts: SimulatorOptions): Simulator {
  const seed = checkSeed(opts.seed);
  const legacyShare = opts.legacyShare ?? 0.05;
  if (!(legacyShare >= 0 && legacyShare <= 1)) {
    throw usageError('SIMULATE_BAD_OPTION', `legacyShare must be from 0 to 1, got ${legacyShare}.`);
  }
  const now = opts.now ?? (() => new Date());
  const logger = (opts.logger ?? silentLogger()).child({ component: 'simulate' });
  const book = createAccountBook();
  const planner = createPlanner({
    rng: createRandom(seed),
    book,
    initialAccounts: checkAccounts(opts.accounts),
    accountPrefix: opts.accountPrefix ?? 'acct',
    legacyShare,
    mix: opts.mix,
  });
  const writer = createCommandWriter({ db: opts.db, book, now, logger });
  let indexes: Promise<void> | undefined;
  let running = false;

  async function loop(run: RunOptions): Promise<SimulationSummary> {
    const count = run.count === undefined ? undefined : checkCount(run.count);
    const rate = run.rate === undefined ? undefined : checkRate(run.rate);
    if (count === undefined && !run.signal) {
      throw usageError(
        'SIMULATE_BAD_OPTION',
        'A run without a count needs an AbortSignal to stop it.',
      );
    }
    // Once per simulator; a failed attempt is not cached, the next run tries again.
    indexes ??= requireEventStoreIndexes(opts.db).catch((e: unknown) => {
      indexes = undefined;
      throw toError(e);
    });
    await indexes;
    const tally = createTally(seed);
    const started = performance.now();
    let schedule = started;
    let written = 0;
    let idle = 0;
    logger.info({ seed, count, rate, accounts: opts.accounts }, 'simulation started');
    while (!run.signal?.aborted && (count === undefined || written < count)) {
      if (rate !== undefined) {
        const wait = schedule + (written / rate) * 1000 - performance.now();
        // A run that fell behind (a slow store) catches up by at most one second's worth.
        if (wait < -MAX_CATCH_UP_MS) schedule -= wait + MAX_CATCH_UP_MS;
        if (wait > 0 && !(await pause(wait, run.signal))) break;
      }
      const cmd = planner.next(count === undefined ? Infinity : count - written, now().getTime());
      const outcome = await writer.execute(cmd);
      tally.record(cmd, outcome);
      if (outcome.written.length === 0) {
        if ((idle += 1) >= MAX_IDLE_COMMANDS) {
          throw new ProjectordError(
            'SIMULATE_STUCK',
            `${idle} commands in a row were refused (last: ${outcome.refused ?? 'adopted'}). ` +
              'Another writer keeps freezing or draining the accounts; run on a database of its own.',
          );
        }
        continue;
      }
      idle = 0;
      written += outcome.written.length;
      run.onProgress?.(written);
    }
    const durationMs = Math.round(performance.now() - started);
    const stoppedBy = count !== undefined && written >= count ? 'count' : 'signal';
    const summary = tally.summary({ durationMs, stoppedBy });
    logger.info({ events: written, durationMs, stoppedBy }, 'simulation finished');
    return summary;
  }

  return {
    async run(run) {
      if (running) {
        throw new ProjectordError(
          'SIMULATE_BUSY',
          'This simulator is already running: await its run first.',
        );
      }
      running = true;
      try {
        return await loop(run);
      } finally {
        running = false;
      }
    },
  };
}

/** Waits `ms`; false when the signal aborted the wait (the run stops). */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    await delay(ms, undefined, { signal });
    return true;
  } catch (e) {
    if (signal?.aborted) return false;
    throw e;
  }
}
