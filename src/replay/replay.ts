import type { Db } from 'mongodb';
import { eventStore } from '../events/eventStore.js';
import { canonicalId, storedForms } from '../events/ids.js';
import { usageError } from '../lib/errors.js';
import { copyOwned } from './copyOwned.js';
import type { ProjectionRun } from './projectInto.js';
import { selectionFilter, type ReplayFilter } from './replayFilter.js';
import { withTemporaryRun, type RecomputeOptions } from './temporaries.js';

/**
 * replay: a partial rebuild of one projection, for the aggregates the filter selects.
 *
 *  1. the aggregates with at least one selected event (of a type the module handles);
 *  2. ALL events of those aggregates, in version order, re-run into temporary collections
 *     (`<collection>__replay_<random>`, temporaries.ts): a handler error stops here, the live
 *     model untouched;
 *  3. per collection, the documents those aggregates own (see ownership.ts) replaced by the
 *     recomputed ones; owned live documents the recompute did not produce are deleted;
 *  4. the temporary collections dropped, always.
 * The checkpoint is not touched. Like rebuild, it is exact when the daemon is not applying
 * events of those aggregates meanwhile.
 */
export interface ReplayOptions extends RecomputeOptions {
  filter: ReplayFilter;
  now?(): Date;
}

export interface ReplayResult {
  aggregates: string[];
  run: ProjectionRun;
  replaced: number;
  deleted: number;
}

/** More aggregates than this in one replay: rebuild is the better tool. */
export const MAX_REPLAY_AGGREGATES = 50_000;
const COPY_CHUNK = 200;

export async function matchedAggregates(
  db: Db,
  filter: ReplayFilter,
  handles: readonly string[],
): Promise<string[]> {
  const groups = await eventStore(db)
    .aggregate<{ _id: unknown }>([
      { $match: selectionFilter(filter, handles) },
      { $group: { _id: '$aggregateId' } },
    ])
    .toArray();
  const ids = groups.map((g) => canonicalId(g._id)).filter((id) => id !== undefined);
  return [...new Set(ids)].sort();
}

export async function replayModule(o: ReplayOptions): Promise<ReplayResult> {
  const { db, module } = o;
  const aggregates = await matchedAggregates(db, o.filter, module.handles);
  if (aggregates.length > MAX_REPLAY_AGGREGATES) {
    throw usageError(
      'REPLAY_TOO_WIDE',
      `The selection matches ${aggregates.length} aggregates (more than ${MAX_REPLAY_AGGREGATES}): ` +
        `narrow it, or rebuild the whole module with projectord rebuild ${module.name}.`,
    );
  }
  const empty = { scanned: 0, handled: 0, invalid: 0 };
  if (aggregates.length === 0) return { aggregates, run: empty, replaced: 0, deleted: 0 };
  const byAggregate = { aggregateId: { $in: aggregates.flatMap(storedForms) } };
  return withTemporaryRun({ ...o, kind: 'replay', filter: byAggregate }, async (run, physical) => ({
    aggregates,
    run,
    ...(await replaceOwned(db, module.collections, aggregates, physical)),
  }));
}

/** Per collection, the documents `aggregates` own replaced by the recomputed ones. */
async function replaceOwned(
  db: Db,
  collections: readonly string[],
  aggregates: readonly string[],
  physical: (collection: string) => string,
): Promise<{ replaced: number; deleted: number }> {
  let replaced = 0;
  let deleted = 0;
  for (const c of collections) {
    for (let i = 0; i < aggregates.length; i += COPY_CHUNK) {
      const r = await copyOwned({
        db,
        from: physical(c),
        to: c,
        aggregateIds: aggregates.slice(i, i + COPY_CHUNK),
      });
      replaced += r.replaced;
      deleted += r.deleted;
    }
  }
  return { replaced, deleted };
}
