import { fnv1a32 } from './hash.js';

/**
 * Who should run which partition of one module: a pure function of what every instance reads
 * alike (the live instances running the module, and who holds a live lease on each partition),
 * so every instance computes the same plan and acts only on its own part of it — no instance
 * tries for a partition the plan gives another (no claim storm), and none holds more than
 * ⌈N / live instances⌉.
 *
 *  1. quotas: N partitions over k instances, ⌊N / k⌋ each, and one more for N mod k of them:
 *     those holding the most now (so the fewest partitions move), ties broken by a hash of
 *     module and instance (so modules of one partition spread over the instances);
 *  2. sticky: every instance keeps the partitions it holds, up to its quota (lowest first);
 *  3. the rest — free, held by an instance that is gone, or above a quota — go round the
 *     instances with room left, in partition order.
 * An instance holding a partition the plan gives another drains it, saves its checkpoint and
 * releases its lease; the other takes it when the lease is free (coordinator.ts). Partitions
 * that stay where they are never stop.
 */
export interface AssignmentInput {
  module: string;
  /** The module's slot names in partition order. */
  slots: readonly string[];
  /** Live instances that run the module. */
  members: readonly string[];
  /** Slot → the instance holding a live lease on it. */
  holders: ReadonlyMap<string, string>;
}

export function assign(input: AssignmentInput): Map<string, string> {
  const { slots, module } = input;
  const target = new Map<string, string>();
  const members = [...new Set(input.members)].sort();
  if (members.length === 0) return target;
  const held = new Map<string, string[]>(members.map((m) => [m, []]));
  for (const slot of slots) {
    const owner = input.holders.get(slot);
    if (owner !== undefined) held.get(owner)?.push(slot);
  }
  const tie = (m: string) => fnv1a32(`${module}/${m}`);
  const order = [...members].sort(
    (a, b) =>
      (held.get(b)?.length ?? 0) - (held.get(a)?.length ?? 0) ||
      tie(a) - tie(b) ||
      (a < b ? -1 : 1),
  );
  const base = Math.floor(slots.length / members.length);
  const extra = slots.length % members.length;
  const room = new Map(order.map((m, i) => [m, base + (i < extra ? 1 : 0)]));
  for (const m of order) {
    for (const slot of held.get(m) ?? []) {
      if ((room.get(m) ?? 0) === 0) break;
      target.set(slot, m);
      room.set(m, (room.get(m) ?? 0) - 1);
    }
  }
  let next = 0;
  for (const slot of slots) {
    if (target.has(slot)) continue;
    for (let tried = 0; tried < order.length; tried++) {
      const m = order[(next + tried) % order.length]!;
      if ((room.get(m) ?? 0) === 0) continue;
      target.set(slot, m);
      room.set(m, (room.get(m) ?? 0) - 1);
      next = (next + tried + 1) % order.length;
      break;
    }
  }
  return target;
}

/** The most partitions of a module one instance may hold with `members` instances alive. */
export function maxShare(partitions: number, members: number): number {
  return Math.ceil(partitions / Math.max(1, members));
}
