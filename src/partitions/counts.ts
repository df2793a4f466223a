import { usageError } from '../lib/errors.js';
import type { ModuleDefinition } from '../modules/types.js';
import {
  createPartitionRouter,
  parseSlotName,
  slotsOf,
  type PartitionRouter,
  type Slot,
} from './slots.js';

/**
 * The configured partition count of each module (`modules.partitions`, default 1), checked
 * against the modules actually loaded: a key naming no loaded module is a typo that would
 * silently leave a module unpartitioned, so it stops start-up (exit 2) naming the key. The
 * counts themselves (whole numbers 1…1024) are checked by the config schema.
 */
export interface Partitioning {
  count(module: string): number;
  /** Every slot of the given modules, module by module, in partition order. */
  slots(modules: readonly ModuleDefinition[]): Slot[];
  /** One router per module, shared by its slots (hashes each event once). */
  router(module: ModuleDefinition): PartitionRouter;
}

export function createPartitioning(
  configured: Readonly<Record<string, number>>,
  loaded: readonly string[],
): Partitioning {
  const known = new Set(loaded);
  const unknown = Object.keys(configured).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw usageError(
      'PARTITIONS_UNKNOWN_MODULE',
      `${unknown.map((n) => `modules.partitions.${n}`).join(', ')} names no loaded module. ` +
        `Loaded: ${[...known].join(', ') || 'none'}. Fix the name or remove the key.`,
    );
  }
  // A name like `x#2` would read back as partition 2 of module x (slots.ts parseSlotName).
  const ambiguous = loaded.filter((name) => parseSlotName(name).partition !== undefined);
  if (ambiguous.length > 0) {
    throw usageError(
      'MODULE_NAME_AMBIGUOUS',
      `Module name ${ambiguous.map((n) => `"${n}"`).join(', ')} ends in #<digits>, which names a ` +
        'partition in projector_leases and projector_checkpoints. Rename the module.',
    );
  }
  const count = (module: string) => configured[module] ?? 1;
  const routers = new Map<string, PartitionRouter>();
  return {
    count,
    slots: (modules) => modules.flatMap((m) => slotsOf(m.name, count(m.name))),
    router(module) {
      let r = routers.get(module.name);
      if (!r) routers.set(module.name, (r = createPartitionRouter(module, count(module.name))));
      return r;
    },
  };
}
