import { Option, type Command } from 'commander';
import { eventStore } from '../../events/eventStore.js';
import { ProjectordError } from '../../lib/errors.js';
import { loadConfiguredModules, withStoppableDatabase } from '../../replay/operatorDb.js';
import { selectProjections } from '../../replay/select.js';
import { verifyModule, type ModuleVerdict } from '../../replay/verify.js';
import { formatDifferences, formatSummary, verifyReportJson } from '../../replay/verifyReport.js';
import { commandContext } from '../context.js';
import { parseInteger } from '../parse.js';

/**
 * `projectord verify [module]`: recompute each projection (or the named one) from event_store
 * into temporary collections and diff it against its live read model. Exit 0 when everything
 * matches, 1 when any module differs or cannot be recomputed, 2 for bad usage. Reactions are
 * never re-run (invariant 9). The live model of a running daemon may lag the newest events:
 * run verify when the store is quiet (it warns when event_store grew while it ran).
 */
export function registerVerify(program: Command): void {
  program
    .command('verify')
    // A bad flag value throws to main() (exit 2) instead of ending the process.
    .exitOverride()
    .description(
      'recompute projections from event_store and diff them against the stored read models ' +
        '(exit 1 on any difference); run it while the store is quiet',
    )
    .argument('[module]', 'the projection to verify (default: every projection)')
    .addOption(
      new Option('--limit <n>', 'differences printed per module (default 10)').argParser((v) =>
        parseInteger(v, '--limit', 0, 100_000),
      ),
    )
    .option('--json', 'print one JSON report (Extended JSON values) instead of lines')
    .action(
      async (name: string | undefined, opts: { limit?: number; json?: boolean }, cmd: Command) => {
        const { config, logger } = commandContext(cmd);
        const { modules, upcasters } = await loadConfiguredModules(config);
        const selected = selectProjections(modules, name, 'verify');
        const out = opts.json
          ? () => undefined
          : (line: string) => process.stdout.write(`${line}\n`);
        await withStoppableDatabase(config, 'verify', async (db, signal) => {
          const before = await eventStore(db).estimatedDocumentCount();
          const verdicts: ModuleVerdict[] = [];
          for (const module of selected) {
            const verdict = await verifyModule({
              db,
              module,
              upcasters,
              config,
              logger,
              signal,
              limit: opts.limit ?? 10,
            });
            formatDifferences(verdict).forEach(out);
            out(formatSummary(verdict));
            verdicts.push(verdict);
          }
          const grown = (await eventStore(db).estimatedDocumentCount()) - before;
          if (opts.json)
            process.stdout.write(`${verifyReportJson(db.databaseName, verdicts, grown)}\n`);
          if (grown > 0) {
            out(
              `note: ${grown} events were appended while verify ran; differences in documents ` +
                'of those aggregates may be the daemon catching up. Verify again when the store is quiet.',
            );
          }
          const bad = verdicts.filter((v) => v.status !== 'match').map((v) => v.module);
          if (bad.length > 0) {
            throw new ProjectordError(
              'VERIFY_DIFFERENCES',
              `${bad.length} of ${verdicts.length} modules do not match event_store: ` +
                `${bad.join(', ')}. Repair a module with projectord rebuild <module>, or some ` +
                'aggregates of it with projectord replay.',
              { exitCode: 1 },
            );
          }
        });
      },
    );
}
