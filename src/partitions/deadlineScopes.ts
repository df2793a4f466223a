import type { ModuleStatus } from '../lifecycle/status.js';
import type { ModuleDefinition } from '../modules/types.js';
import type { DeadlineScope } from '../reactions/deadlines.js';
import type { Partitioning } from './counts.js';

/**
 * Whose saga deadlines this instance fires: each reaction's slots that it holds the lease of
 * and runs a lane for. A module of one partition is a plain name; a split one lists the owned
 * partitions, so the scheduler claims only deadlines whose key hashes into them.
 */
export function deadlineScopes(
  modules: readonly ModuleDefinition[],
  partitioning: Partitioning,
  owned: { has(slot: string): boolean },
  running: readonly ModuleStatus[],
): DeadlineScope[] {
  const laned = new Set(running.map((s) => s.slot));
  const scopes: DeadlineScope[] = [];
  for (const m of modules) {
    if (m.kind !== 'reaction') continue;
    const count = partitioning.count(m.name);
    const mine = partitioning
      .slots([m])
      .filter((s) => owned.has(s.name) && laned.has(s.name))
      .map((s) => s.partition);
    if (mine.length === 0) continue;
    scopes.push(count === 1 ? m.name : { module: m.name, count, partitions: mine });
  }
  return scopes;
}
