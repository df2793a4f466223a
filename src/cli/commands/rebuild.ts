import type { Command } from 'commander';
import { clusterTimeToDate } from '../../checkpoint/position.js';
import { eventStore } from '../../events/eventStore.js';
import { rebuildExclusively } from '../../leases/handover.js';
import { ProjectordError } from '../../lib/errors.js';
import { loadConfiguredModules, withStoppableDatabase } from '../../replay/operatorDb.js';
import { createProgress } from '../../replay/progress.js';
import { ProjectionFailedError } from '../../replay/projectInto.js';
import { rebuildModule } from '../../replay/rebuild.js';
import { findModule } from '../../replay/select.js';
import { commandContext } from '../context.js';

/**
 * `projectord rebuild <module>`: re-run one projection from event_store into shadow collections
 * and swap them in; the live read model stays readable throughout (src/replay/rebuild.ts).
 * Before the swap it takes the module's lease from the daemon that runs it (asking it to hand
 * over, src/leases/handover.ts), re-checks what that daemon applied meanwhile, and releases the
 * lease after the swap, so the daemon takes the module back from the rebuilt checkpoint.
 * A progress bar on a terminal, progress lines otherwise. Exit 1 when a handler fails (the live
 * model and checkpoint are left as they were), 2 for bad usage.
 */
export function registerRebuild(program: Command): void {
  program
    .command('rebuild')
    // A bad flag value throws to main() (exit 2) instead of ending the process.
    .exitOverride()
    .description(
      'rebuild a projection into shadow collections and swap them in, with a progress bar; ' +
        'the live read model stays readable',
    )
    .argument('<module>', 'the projection to rebuild')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { config, logger } = commandContext(cmd);
      const { modules, upcasters, partitioning } = await loadConfiguredModules(config);
      const module = findModule(modules, name, 'rebuild');
      // One read model for all partitions: the rebuild takes every partition's lease.
      const slots = partitioning.slots([module]).map((s) => s.name);
      await withStoppableDatabase(config, 'rebuild', async (db, signal) => {
        const progress = createProgress({
          label: `rebuild ${module.name}`,
          total: await eventStore(db).estimatedDocumentCount(),
          out: process.stdout,
        });
        const result = await rebuildModule({
          db,
          module,
          upcasters,
          config,
          logger,
          signal,
          onProgress: (n) => progress.update(n),
          slots,
          exclusive: rebuildExclusively({ db, config, module: module.name, slots, logger, signal }),
        }).catch((e: unknown) => {
          progress.finish();
          if (e instanceof ProjectionFailedError) {
            throw new ProjectordError(
              e.code,
              `Rebuild of ${module.name} stopped: ${e.message.replace(/\.?$/, '.')} ` +
                'The live read model and its ' +
                'checkpoint are unchanged; fix the module or the event, then rebuild again.',
              { cause: e },
            );
          }
          throw e;
        });
        progress.finish();
        process.stdout.write(
          `rebuild ${module.name}: ${result.first.handled} events re-run, then ` +
            `${result.second.handled} events stored since the scan began (with a margin) ` +
            `re-checked; swapped in ${result.collections.join(', ')}. ` +
            `${result.third?.handled ?? 0} events re-checked under the module's lease before ` +
            'the swap. Checkpoint set to ' +
            `${clusterTimeToDate(result.position.clusterTime).toISOString()}: the daemon that ` +
            'runs the module takes it back and continues from there.\n',
        );
      });
    });
}
