import type { Db } from 'mongodb';
import type { Position } from '../checkpoint/position.js';
import type { CheckpointStore } from '../checkpoint/store.js';
import type { Config } from '../config/schema.js';
import type { UpcasterRegistry } from '../dispatch/upcast.js';
import type { ModuleDefinition, ProjectionDefinition } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';
import { slotsOf, type Slot } from '../partitions/slots.js';
import { rebuildModule } from '../replay/rebuild.js';

/** One slot of an epoch's plan: a module's partition and where its checkpoint stands. */
export interface PlannedSlot {
  module: ModuleDefinition;
  slot: Slot;
  position: Position | undefined;
}

/**
 * Before an epoch: create the modules' declared indexes and find where each slot stands.
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
  slots: readonly { module: ModuleDefinition; slot: Slot }[];
  upcasters: UpcasterRegistry;
  logger: Logger;
  signal: AbortSignal;
  /** Lease fencing: false once this process no longer holds the slot's lease. */
  canWrite?: (slot: string) => boolean;
  /**
   * A projection split into partitions changed version, found by the owner of its partition 0
   * (partitions/splitRebuild.ts: a rebuild in the background that takes every partition's
   * lease). Absent (no leases: this process runs every partition): rebuilt here, once.
   */
  rebuildSplit?: (module: ModuleDefinition) => void;
}): Promise<PlannedSlot[]> {
  const plan: PlannedSlot[] = [];
  const indexed = new Set<string>();
  const rebuiltHere = new Map<string, Position>();
  for (const { module, slot } of o.slots) {
    if (!indexed.has(module.name)) {
      indexed.add(module.name);
      for (const [collection, indexes] of Object.entries(module.indexes ?? {})) {
        for (const ix of indexes) {
          await o.db.collection(collection).createIndex(ix.key, ix.unique ? { unique: true } : {});
        }
      }
    }
    const stored = await o.checkpoints.load(slot.name);
    let position = stored?.position;
    // A catch-up the old version left unfinished (stopped, crashed) has written part of the read
    // model with the old code: the guards would keep those documents, so it is rebuilt too.
    const partial = stored?.mode === 'catching-up' || stored?.catchUp !== undefined;
    if (
      stored &&
      (position || partial) &&
      stored.moduleVersion !== module.version &&
      module.kind === 'projection'
    ) {
      if (slot.count > 1 && o.rebuildSplit) {
        // Runs on meanwhile: the swap replaces what it writes, and every partition resumes from
        // the rebuilt position once the rebuild hands the leases back.
        if (slot.partition === 0) o.rebuildSplit(module);
      } else {
        const known = rebuiltHere.get(module.name);
        position = known ?? (await rebuildHere(module, slot, stored.moduleVersion));
        rebuiltHere.set(module.name, position);
      }
    }
    plan.push({ module, slot, position });
  }
  return plan;

  async function rebuildHere(
    module: ProjectionDefinition,
    slot: Slot,
    from: number,
  ): Promise<Position> {
    o.logger.warn(
      { module: module.name, from, to: module.version },
      'module version changed: rebuilding its read model (the old one stays readable until the swap)',
    );
    const slots = slotsOf(module.name, slot.count).map((s) => s.name);
    const rebuilt = await rebuildModule({
      db: o.db,
      module,
      upcasters: o.upcasters,
      config: o.config,
      logger: o.logger,
      signal: o.signal,
      slots,
      ...(o.canWrite ? { stillOwned: () => slots.every((s) => o.canWrite!(s)) } : {}),
    });
    return rebuilt.position;
  }
}
