import type { Db } from 'mongodb';
import type { Position } from '../checkpoint/position.js';
import type { CheckpointStore } from '../checkpoint/store.js';
import type { ModuleDefinition } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';

/**
 * Before an epoch: create the modules' declared indexes and find where each module stands.
 * A projection whose `version` differs from the stored one is rebuilt from scratch (its
 * collections dropped, its position forgotten: it catches up from event_store). A reaction
 * keeps its position: reactions are never re-run (invariant 9).
 */
export async function prepareModules(o: {
  db: Db;
  checkpoints: CheckpointStore;
  modules: readonly ModuleDefinition[];
  logger: Logger;
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
        'module version changed: rebuilding its read model from event_store',
      );
      for (const c of module.collections)
        await o.db
          .collection(c)
          .drop()
          .catch(() => false);
      await o.checkpoints.reset(module.name, module.version);
      position = undefined;
    }
    plan.push({ module, position });
  }
  return plan;
}
