import type { ProjectorEvent } from '../events/types.js';
import type { ModuleDefinition } from '../modules/types.js';
import { partitionOf } from './hash.js';

/**
 * A slot is one partition of one module: the unit that has a lease, a checkpoint and a lane
 * (DESIGN.md "Partitions"). Its name keys projector_leases and projector_checkpoints:
 * `<module>#<partition>`, or the plain module name when the module has one partition, so a
 * store from before partitions carries on unchanged.
 */
export interface Slot {
  readonly module: string;
  readonly partition: number;
  /** The module's partition count. */
  readonly count: number;
  readonly name: string;
}

export const SLOT_SEPARATOR = '#';

export function slotName(module: string, partition: number, count: number): string {
  return count === 1 ? module : `${module}${SLOT_SEPARATOR}${partition}`;
}

export function slotOf(module: string, partition: number, count: number): Slot {
  return { module, partition, count, name: slotName(module, partition, count) };
}

export function slotsOf(module: string, count: number): Slot[] {
  return Array.from({ length: count }, (_, p) => slotOf(module, p, count));
}

/**
 * Splits a stored name back into module and partition: `m#3` → m, 3; `m` → m, undefined (a
 * module of one partition). Only a trailing `#<digits>` is a partition, so a module whose own
 * name holds `#` elsewhere still reads back whole.
 */
export function parseSlotName(name: string): { module: string; partition: number | undefined } {
  const m = /^(.+)#(\d{1,6})$/.exec(name);
  if (!m?.[1] || m[2] === undefined) return { module: name, partition: undefined };
  return { module: m[1], partition: Number(m[2]) };
}

/** The ordering key the lane orders the module's events by (lanes/lane.ts keeps the same rule). */
export function orderingKeyOf(module: ModuleDefinition): (event: ProjectorEvent) => string {
  const custom = module.orderingKey;
  return custom === undefined ? (e) => e.aggregateId : (e) => custom(e);
}

/**
 * Which partition of one module an event or a key belongs to. Shared by the module's slots in
 * one process: the last event's partition is remembered, so N slots of a module hash each
 * event once, not N times.
 */
export interface PartitionRouter {
  readonly count: number;
  ofEvent(event: ProjectorEvent): number;
  ofKey(key: string): number;
}

export function createPartitionRouter(module: ModuleDefinition, count: number): PartitionRouter {
  const keyOf = orderingKeyOf(module);
  let last: ProjectorEvent | undefined;
  let lastPartition = 0;
  return {
    count,
    ofEvent(event) {
      if (count === 1) return 0;
      if (event !== last) {
        lastPartition = partitionOf(keyOf(event), count);
        last = event;
      }
      return lastPartition;
    },
    ofKey: (key) => partitionOf(key, count),
  };
}
