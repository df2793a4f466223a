import type { Db } from 'mongodb';
import type { Position } from '../checkpoint/position.js';
import type { CheckpointStore } from '../checkpoint/store.js';
import type { Config } from '../config/schema.js';
import type { UpcasterRegistry } from '../dispatch/upcast.js';
import type { ModuleDefinition } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';
import { rebuildModule } from '../replay/rebuild.js';

/**
 * Before an epoch: create the modules' declared indexes and find where each module stands.
 * A projection whose `version` differs from the stored one is rebuilt (shadow collections,
 * then a swap: the old read model stays readable until then) and continues from the rebuild's
 * position. A reaction keeps its position: reactions are never re-run (invariant 9).
 * A rebuild that fails stops the daemon with the handler's error; the old model stays. One whose
 * lease was lost meanwhile rejects with LeaseLostError and swaps nothing: the daemon plans anew.
 */
export async function prepareModules(o: {
  db: Db;
  config: Config;
  checkpoints: CheckpointStore;
  modules: readonly ModuleDefinition[];
  upcasters: UpcasterRegistry;
  logger: Logger;
  signal: AbortSignal;
  /** Lease fencing: false once this process no longer holds the module's lease. */
  canWrite?: (module: string) => boolean;
}): Promise<{ module: ModuleDefinition; position: Position | undefined }[]> {
  const plan: { module: ModuleDefinition; position: Position | undefined }[] = [];
  for (const module of o.modules) {
    for (const [collection, indexes] of Object.entries(module.indexes ?? {})) {
      for (const ix of indexes) {
        await o.db.collection(collection).createIndex(ix.key, ix.unique ? { unique: true } : {});
      }
    }
    const stored = await o.checkpoints.load(module.name);
    let position = stored?.position;
    if (
      stored &&
      position &&
      stored.moduleVersion !== module.version &&
      module.kind === 'projection'
    ) {
      o.logger.warn(
        { module: module.name, from: stored.moduleVersion, to: module.version },
        'module version changed: rebuilding its read model (the old one stays readable until the swap)',
      );
      const rebuilt = await rebuildModule({
        db: o.db,
        module,
        upcasters: o.upcasters,
        config: o.config,
        logger: o.logger,
        signal: o.signal,
        ...(o.canWrite ? { stillOwned: () => o.canWrite!(module.name) } : {}),
      });
      position = rebuilt.position;
    }
    plan.push({ module, position });
  }
  return plan;
}
