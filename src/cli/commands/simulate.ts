import type { Command } from 'commander';
import { MongoClient } from 'mongodb';
import { ProjectordError, toError, usageError } from '../../lib/errors.js';
import { onShutdownSignal } from '../../lifecycle/signals.js';
import { parseSimulateFlags, type SimulateFlags } from '../../simulate/options.js';
import { createSimulator } from '../../simulate/simulator.js';
import { formatSummary } from '../../simulate/summary.js';
import { commandContext } from '../context.js';

/**
 * `projectord simulate`: the bank's command side writing a workload into event_store (DOMAIN.md).
 * Flags are checked before anything connects. Ctrl-C stops after the command in progress and
 * still prints the summary (exit 0); a second Ctrl-C exits at once.
 */
export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description(
      'write a bank workload into event_store: accounts, one- and two-step transfers, freezes, ' +
        'large, foreign and structured payments, old schema versions',
    )
    .option('--count <n>', 'write n events, then stop')
    .option('--rate <events/s>', 'write at this rate until Ctrl-C (default when no --count: 100)')
    .option('--accounts <n>', 'accounts opened first (default 20)')
    .option('--seed <n>', 'seed of the generator, for repeatable runs (default: random, printed)')
    .action(async (flags: SimulateFlags, cmd: Command) => {
      const settings = parseSimulateFlags(flags);
      const { config, logger } = commandContext(cmd);
      if (!config.mongoUri) {
        throw usageError(
          'MONGO_URI_MISSING',
          'No MongoDB to write to: pass --mongo-uri <uri> or set PROJECTORD_MONGO_URI.',
        );
      }
      const client = new MongoClient(config.mongoUri, { serverSelectionTimeoutMS: 10_000 });
      try {
        await client.connect();
      } catch (e) {
        throw new ProjectordError(
          'MONGO_UNREACHABLE',
          `Cannot connect to MongoDB at ${config.mongoUri}: ${toError(e).message}. ` +
            'Check the URI and that the server is running.',
          { cause: e },
        );
      }
      const stop = new AbortController();
      const removeSignalHandlers = onShutdownSignal(() => stop.abort());
      try {
        const simulator = createSimulator({
          db: client.db(config.db),
          seed: settings.seed,
          accounts: settings.accounts,
          logger,
        });
        const summary = await simulator.run({
          count: settings.count,
          rate: settings.rate,
          signal: stop.signal,
        });
        process.stdout.write(`${formatSummary(summary)}\n`);
      } finally {
        removeSignalHandlers();
        await client.close();
      }
    });
}
