import { BSON, type Db } from 'mongodb';
import type { RawEventDocument } from '../events/types.js';
import { DEAD_LETTERS, type DeadLetter, type DeadLetterStatus } from '../lanes/deadLetters.js';
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
 *
 * The recompute leaves out the events dead-lettered for the module and not applied by it
 * (NOT_APPLIED): the live model lacks them by design (DESIGN.md invariant 6), so they are neither
 * a difference nor a reason to stop; `run.excluded` counts them for the report. Any other
 * handler error still stops the recompute.
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

/**
 * Dead-letter statuses whose event the module has not applied: the failing event (`parked`), the
 * events of its key behind it (`waiting`), one an operator skipped, and either kind of request no
 * daemon has performed yet. Not `resolved` (applied after all) and not `invalid` (an envelope
 * that never reaches a handler: projectInto skips and counts it on its own).
 */
export const NOT_APPLIED: readonly DeadLetterStatus[] = [
  'parked',
  'waiting',
  'skipped',
  'retry-requested',
  'skip-requested',
];

// Canonical EJSON keeps the BSON type: ObjectId("…") and the string "…" are different ids.
const idKey = (id: unknown): string => BSON.EJSON.stringify(id, { relaxed: false });

/**
 * Which stored events are dead-lettered for `module` and not applied. Matched by the entry's
 * `sourceId`, the `_id` of the very event_store document the daemon failed on: unique by
 * construction and what the daemon itself re-reads on a retry. (`eventId` is unique only where
 * event_store has that index; two events sharing one would both be left out.)
 */
export async function deadLetteredEvents(
  db: Db,
  module: string,
): Promise<(raw: RawEventDocument) => boolean> {
  const entries = await db
    .collection<DeadLetter>(DEAD_LETTERS)
    .find(
      { module: { $eq: module }, status: { $in: [...NOT_APPLIED] } },
      { projection: { sourceId: 1 } },
    )
    .toArray();
  const ids = new Set(
    entries
      .filter((e) => e.sourceId !== undefined && e.sourceId !== null)
      .map((e) => idKey(e.sourceId)),
  );
  return (raw) => ids.has(idKey(raw._id));
}

export async function verifyModule(o: VerifyOptions): Promise<ModuleVerdict> {
  const { limit, ...recompute } = o;
  const { db, module } = o;
  const exclude = await deadLetteredEvents(db, module.name);
  try {
    return await withTemporaryRun<ModuleVerdict>(
      { ...recompute, kind: 'verify', exclude },
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
