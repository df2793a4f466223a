import type { Command } from 'commander';
import { startMongo } from '../../mongo/starter.js';
import { onShutdownSignal } from '../../lifecycle/signals.js';
import { createLogger } from '../../observability/logger.js';
import type { GlobalFlags } from '../context.js';

/** `projectord mongo`: the embedded MongoDB in the foreground; prints its URI on one line. */
export function registerMongo(program: Command): void {
  program
    .command('mongo')
    .description('start the embedded MongoDB in the foreground and print its mongodb:// URI')
    .action(async (_opts: unknown, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalFlags>();
      const logger = createLogger({ level: g.logLevel ?? 'info' });
      const mongo = await startMongo(logger);
      process.stdout.write(`${mongo.uri}\n`);
      await new Promise<void>((resolve) => {
        onShutdownSignal(() => resolve(), { forceExitCode: 130 });
      });
      logger.info('stopping embedded MongoDB');
      await mongo.stop();
    });
}
