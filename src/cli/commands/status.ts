import type { Command } from 'commander';
import { withDatabase } from '../../replay/operatorDb.js';
import { collectStatus } from '../status/collectStatus.js';
import { renderStatusJson, renderStatusTable } from '../status/renderStatus.js';
import { commandContext } from '../context.js';

/**
 * `projectord status [--json]`: per module, the lease owner, mode, last event time, lag,
 * events applied, open dead letters and health, read from the database (DESIGN.md "CLI").
 * Reports; never judges by exit code: 0 whenever the database could be read.
 */
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('per module: lease owner, mode, last event, lag, events applied, dead letters')
    .option('--json', 'print the report as JSON instead of a table')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { config } = commandContext(cmd);
      await withDatabase(config, 'status', async (db) => {
        const report = await collectStatus(db, {
          now: new Date(),
          maxLagMs: config.health.maxLagMs,
          stuckAfterMs: config.health.stuckAfterMs,
        });
        process.stdout.write(opts.json ? renderStatusJson(report) : renderStatusTable(report));
      });
    });
}
