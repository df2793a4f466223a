import type { Timestamp } from 'mongodb';
import type { CatchUpProgress, StoredCheckpoint } from '../checkpoint/store.js';
import type { ModulePipeline } from '../dispatch/pipeline.js';
import { compareScanPositions, type ScanPosition } from '../source/scanPosition.js';

/**
 * Where each catching-up module resumes (issue 15, item 13). A module whose checkpoint holds
 * catch-up progress resumes after its saved scan position and joins the live stream at its saved
 * start time; any other starts from the first event and joins at `freshStart`. One scan serves
 * them all, from the position furthest back: a module is only handed the events after its own.
 */
export interface CatchUpPlan {
  /** The scan resumes after this; undefined: from the first event. */
  after: ScanPosition | undefined;
  modules: Map<ModulePipeline, CatchUpProgress>;
}

export function planCatchUp(
  targets: readonly ModulePipeline[],
  stored: readonly (StoredCheckpoint | undefined)[],
  freshStart: Timestamp,
  estimate: number,
): CatchUpPlan {
  const modules = new Map<ModulePipeline, CatchUpProgress>();
  targets.forEach((p, i) => {
    const saved = stored[i]?.catchUp;
    modules.set(
      p,
      saved && stored[i]?.moduleVersion === p.module.version
        ? { ...saved, estimate }
        : { startAt: freshStart, after: undefined, scanned: 0, estimate },
    );
  });
  let after: ScanPosition | undefined;
  let first = true;
  for (const progress of modules.values()) {
    if (!progress.after) return { after: undefined, modules };
    if (first || compareScanPositions(progress.after, after!) < 0) after = progress.after;
    first = false;
  }
  return { after, modules };
}

/** Whether a module resuming after `after` still needs the event at `position`. */
export function needs(after: ScanPosition | undefined, position: ScanPosition): boolean {
  return !after || compareScanPositions(position, after) > 0;
}
