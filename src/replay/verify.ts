import { compareCollections, type CollectionComparison } from './compare.js';
import { ProjectionFailedError, type ProjectionRun } from './projectInto.js';
import { withTemporaryRun, type RecomputeOptions } from './temporaries.js';

/**
 * verify for one projection: recompute it from event_store into temporary collections
 * (`<collection>__verify_<random>`, temporaries.ts), compare each with its live collection; the
 * temporary ones are dropped whatever happened. The live model is only read.
 *
 * The comparison is with what event_store holds now. A daemon that is running may not have
 * applied the newest events yet, so differences in recently changed documents can be lag, not
 * damage: verify is meant for a quiet store (the command warns when event_store grew meanwhile).
 * A handler that fails during the recompute is a verdict too (`failed`), not a crash: the other
 * modules are still verified.
 */
export type ModuleVerdict =
  | {
      module: string;
      status: 'match' | 'differ';
      run: ProjectionRun;
      collections: CollectionComparison[];
    }
  | { module: string; status: 'failed'; error: ProjectionFailedError };

export interface VerifyOptions extends RecomputeOptions {
  /** Differences kept for the report (all are counted). */
  limit: number;
  onProgress?(scanned: number): void;
}

export async function verifyModule(o: VerifyOptions): Promise<ModuleVerdict> {
  const { limit, ...recompute } = o;
  const { db, module } = o;
  try {
    return await withTemporaryRun<ModuleVerdict>(
      { ...recompute, kind: 'verify' },
      async (run, physical) => {
        const collections: CollectionComparison[] = [];
        let shown = 0;
        for (const c of module.collections) {
          const comparison = await compareCollections({
            db,
            live: c,
            expected: physical(c),
            ignore: module.verifyIgnore ?? [],
            limit: Math.max(0, limit - shown),
          });
          shown += comparison.shown.length;
          collections.push(comparison);
        }
        const differ = collections.some((c) => c.differing > 0);
        return { module: module.name, status: differ ? 'differ' : 'match', run, collections };
      },
    );
  } catch (e) {
    if (e instanceof ProjectionFailedError)
      return { module: module.name, status: 'failed', error: e };
    throw e;
  }
}
