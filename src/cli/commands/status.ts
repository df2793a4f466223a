import type { Command } from 'commander';
import { MongoClient } from 'mongodb';
import { ProjectordError, toError, usageError } from '../../lib/errors.js';
import { redactUri } from '../../observability/redact.js';
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
      if (config.mongoUri === undefined) {
        throw usageError(
          'MONGO_URI_REQUIRED',
          'projectord status needs the MongoDB to read: pass --mongo-uri, set ' +
            'PROJECTORD_MONGO_URI, or set mongoUri in the --config file.',
        );
      }
      const client = new MongoClient(config.mongoUri, { serverSelectionTimeoutMS: 10_000 });
      try {
        try {
          await client.connect();
        } catch (e) {
          throw new ProjectordError(
            'MONGO_UNREACHABLE',
            `Cannot reach MongoDB at ${redactUri(config.mongoUri)}: ${toError(e).message}. ` +
              'Check --mongo-uri / PROJECTORD_MONGO_URI and that the server is running.',
            { cause: e },
          );
        }
        const report = await collectStatus(client.db(config.db), {
          now: new Date(),
          maxLagMs: config.health.maxLagMs,
          stuckAfterMs: config.health.stuckAfterMs,
        });
        process.stdout.write(opts.json ? renderStatusJson(report) : renderStatusTable(report));
      } finally {
        await client.close();
      }
    });
}
