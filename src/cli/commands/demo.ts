import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { parseDemoFlags, type DemoFlags } from '../../demo/options.js';
import { runDemo } from '../../demo/runDemo.js';
import { ProjectordError } from '../../lib/errors.js';
import { onShutdownSignal } from '../../lifecycle/signals.js';
import type { GlobalFlags } from '../context.js';

/**
 * `projectord demo`: embedded MongoDB + simulator + the whole daemon in one process, with live
 * progress, then verify (DESIGN.md "CLI"): every projection recomputed and diffed, every bank
 * reaction checked without re-running it. Exit 0 when every module verified, 1 otherwise,
 * 2 for a bad flag. The demo writes a simulated workload, so it never uses the configured
 * PROJECTORD_MONGO_URI: only --mongo-uri given to it, MONGODB_URI, or its own MongoDB; and its
 * database is `projectord_demo` unless --db names another.
 */
export const DEMO_DB = 'projectord_demo';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'start an embedded MongoDB, simulate the bank and run every module in this process with ' +
        'live progress; then verify every module (exit 1 on any difference)',
    )
    .option('--events <n>', 'simulate n events, wait until every module caught up, verify, exit')
    .option('--rate <events/s>', 'simulator pace (default without --events: 100/s)')
    .option('--accounts <n>', 'accounts opened first (default 20)')
    .option('--seed <n>', 'seed of the simulator, for repeatable runs (default: random, printed)')
    .action(async (flags: DemoFlags, cmd: Command) => {
      const settings = parseDemoFlags(flags);
      const g = cmd.optsWithGlobals<GlobalFlags>();
      // Validated before anything starts; mongoUri is the demo's own, filled in once it runs.
      const config = loadConfig({
        file: g.config,
        flags: { mongoUri: g.mongoUri, db: g.db ?? DEMO_DB, logLevel: g.logLevel },
      });
      const stop = new AbortController();
      const removeSignals = onShutdownSignal(() => stop.abort());
      try {
        const outcome = await runDemo({
          settings,
          config,
          mongoUri: g.mongoUri,
          logLevel: g.logLevel,
          out: process.stdout,
          tty: Boolean(process.stdout.isTTY),
          stop: stop.signal,
        });
        if (!outcome.verified) {
          const what = outcome.notSettled
            ? `the modules did not catch up (still waiting for ${outcome.notSettled})`
            : `verify found differences in ${outcome.verify.mismatched.join(', ')}`;
          throw new ProjectordError(
            'DEMO_NOT_VERIFIED',
            `demo: NOT verified: ${what}. The report above names each difference; ` +
              're-run with --log-level info to see what the daemon did.',
          );
        }
        process.stdout.write(
          `demo: verified — ${outcome.summary.events} events simulated; every projection matches event_store, every reaction check passed\n`,
        );
      } finally {
        removeSignals();
      }
    });
}
