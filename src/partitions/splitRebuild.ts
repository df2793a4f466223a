import type { Db } from 'mongodb';
import type { Config } from '../config/schema.js';
import type { UpcasterRegistry } from '../dispatch/upcast.js';
import { rebuildExclusively } from '../leases/handover.js';
import { toError } from '../lib/errors.js';
import type { ModuleDefinition } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';
import { rebuildModule } from '../replay/rebuild.js';
import { slotsOf } from './slots.js';

/**
 * The automatic rebuild of a projection split into partitions whose `version` changed. Its read
 * model is one for all partitions, so the rebuild cannot run per partition; it runs as
 * `projectord rebuild` does (replay/rebuild.ts), in the background of the instance that owns
 * partition 0: shadows filled while every partition goes on, then every partition's lease taken
 * by handover (leases/handover.ts, under `rebuild:<instanceId>`), a last pass, the swap, every
 * partition's checkpoint set to the rebuilt position, the leases released. Instances pick the
 * partitions up again from there. One rebuild per module at a time in this process; a failure
 * is logged and the next owner of partition 0 tries again on its next start of the partition.
 */
export interface SplitRebuilds {
  start(module: ModuleDefinition): void;
  /** Waits for running rebuilds (they end at the stop signal). */
  stop(): Promise<void>;
}

export function createSplitRebuilds(o: {
  db: Db;
  config: Config;
  upcasters: UpcasterRegistry;
  logger: Logger;
  count(module: string): number;
}): SplitRebuilds {
  const running = new Map<string, Promise<void>>();
  const stop = new AbortController();
  return {
    start(module) {
      if (module.kind !== 'projection' || running.has(module.name) || stop.signal.aborted) return;
      const slots = slotsOf(module.name, o.count(module.name)).map((s) => s.name);
      const logger = o.logger.child({ module: module.name, component: 'split-rebuild' });
      logger.warn(
        { partitions: slots.length },
        'module version changed: rebuilding its read model, then taking every partition over for the swap',
      );
      const run = rebuildModule({
        db: o.db,
        module,
        upcasters: o.upcasters,
        config: o.config,
        logger,
        signal: stop.signal,
        slots,
        exclusive: rebuildExclusively({
          db: o.db,
          config: o.config,
          module: module.name,
          slots,
          logger,
          signal: stop.signal,
        }),
      }).then(
        (r) => logger.info({ handled: r.first.handled }, 'version rebuild swapped in'),
        (e: unknown) =>
          logger.error({ err: toError(e) }, 'version rebuild failed; the old read model stays'),
      );
      running.set(
        module.name,
        run.finally(() => running.delete(module.name)),
      );
    },
    async stop() {
      stop.abort();
      await Promise.all(running.values());
    },
  };
}
