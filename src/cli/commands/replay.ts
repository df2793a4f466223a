import { Option, type Command } from 'commander';
import { ProjectordError } from '../../lib/errors.js';
import { loadConfiguredModules, withStoppableDatabase } from '../../replay/operatorDb.js';
import { ProjectionFailedError } from '../../replay/projectInto.js';
import { replayModule } from '../../replay/replay.js';
import { describeFilter, parseReplayFilter, type ReplayFlags } from '../../replay/replayFilter.js';
import { findModule } from '../../replay/select.js';
import { commandContext } from '../context.js';

/**
 * `projectord replay --module <m> [--from] [--to] [--types] [--aggregate-types] [--aggregates]`:
 * a partial rebuild — the aggregates with a selected event get all their events re-run and
 * their documents replaced (src/replay/replay.ts states the rule for which documents). The
 * selection is checked before anything connects: a bad date or no selection is exit 2.
 */
export function registerReplay(program: Command): void {
  program
    .command('replay')
    // A bad flag value throws to main() (exit 2) instead of ending the process.
    .exitOverride()
    .description(
      'partial rebuild of a projection: re-run every event of the aggregates the filter ' +
        'selects and replace their documents (--from inclusive, --to exclusive)',
    )
    .requiredOption('--module <name>', 'the projection to replay')
    .addOption(new Option('--from <date>', 'events with eventTimestamp at or after (ISO 8601)'))
    .addOption(new Option('--to <date>', 'events with eventTimestamp before (ISO 8601)'))
    .addOption(new Option('--types <list>', 'event types, comma-separated'))
    .addOption(new Option('--aggregate-types <list>', 'aggregate types, comma-separated'))
    .addOption(new Option('--aggregates <list>', 'aggregate ids, comma-separated'))
    .addHelpText(
      'after',
      '\nThe documents of an aggregate A are those whose _id is A or starts with "A:", or whose ' +
        'accountId or aggregateId is A.\nDocuments shared by aggregates (counters) are left as ' +
        'they are: repair those with projectord rebuild.',
    )
    .action(async (opts: ReplayFlags & { module: string }, cmd: Command) => {
      const filter = parseReplayFilter(opts);
      const { config, logger } = commandContext(cmd);
      const { modules, upcasters } = await loadConfiguredModules(config);
      const module = findModule(modules, opts.module, 'replay');
      const label = `replay ${module.name} (${describeFilter(filter)})`;
      await withStoppableDatabase(config, 'replay', async (db, signal) => {
        const result = await replayModule({
          db,
          module,
          upcasters,
          config,
          logger,
          signal,
          filter,
        }).catch((e: unknown) => {
          if (!(e instanceof ProjectionFailedError)) throw e;
          throw new ProjectordError(
            e.code,
            `Replay of ${module.name} stopped: ${e.message.replace(/\.?$/, '.')} The live ` +
              'read model is unchanged; fix the module or the event, then replay again.',
            { cause: e },
          );
        });
        if (result.aggregates.length === 0) {
          process.stdout.write(`${label}: no event of the module matches; nothing changed.\n`);
          return;
        }
        const n = result.aggregates.length;
        process.stdout.write(
          `${label}: ${n} aggregate${n === 1 ? '' : 's'}, ${result.run.handled} events ` +
            `re-run, ${result.replaced} documents replaced, ${result.deleted} deleted.\n`,
        );
      });
    });
}
