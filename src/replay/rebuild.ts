import type { Db } from 'mongodb';
import { toPosition, type Position } from '../checkpoint/position.js';
import {
  CHECKPOINTS,
  createCheckpointStore,
  type CheckpointStore,
  type StoredCheckpoint,
} from '../checkpoint/store.js';
import { ProjectordError, toError } from '../lib/errors.js';
import { currentClusterTime } from '../source/clusterTime.js';
import { dropAll, prepareTargets, swapIn } from './collections.js';
import { physicalMap, rebuildName } from './names.js';
import { projectInto, type ProjectionRun } from './projectInto.js';
import type { RecomputeOptions } from './temporaries.js';

/**
 * rebuild for one projection, while the live read model stays readable:
 *
 *  1. mode `rebuilding` in projector_checkpoints (for status); T = the cluster time now;
 *  2. pass 1: every event of event_store into shadows (`<collection>__rebuild`);
 *  3. pass 2: the events stored since T (minus `marginMs`, for clock skew between the command
 *     side and this process, and for events stamped before T but committed after it) into the
 *     shadows again — the guards make re-applying the overlap harmless;
 *  4. each shadow renamed over its live collection (renameCollection with dropTarget);
 *  5. the module's checkpoint set to T (token-less), so the daemon's next epoch follows the
 *     stream from T and applies anything newer with the same guards.
 *
 * Until step 4 nothing live is touched: the first handler error (or a stop signal) drops the
 * shadows, puts the checkpoint's mode back and rejects. A running daemon keeps writing the live
 * collections during the rebuild; what it writes between pass 2 and the swap can be missing
 * from the swapped-in model until its next epoch (or `projectord replay` of those aggregates):
 * for an exact result, rebuild while the daemon does not run the module.
 */
export interface RebuildOptions extends RecomputeOptions {
  now?(): Date;
  marginMs?: number;
  /** Progress of pass 1 (events scanned). */
  onProgress?(scanned: number): void;
}

export interface RebuildResult {
  first: ProjectionRun;
  second: ProjectionRun;
  /** The position the module's checkpoint was set to. */
  position: Position;
  collections: readonly string[];
}

const DEFAULT_MARGIN_MS = 60_000;

export async function rebuildModule(o: RebuildOptions): Promise<RebuildResult> {
  const { db, module } = o;
  const now = o.now ?? (() => new Date());
  const checkpoints = createCheckpointStore(db, now);
  const prior = await checkpoints.load(module.name);
  await checkpoints.setMode(module.name, 'rebuilding', prior?.moduleVersion ?? module.version);
  const physical = physicalMap(module.collections, rebuildName);
  const shadows = module.collections.map(physical);
  const scanStart = await currentClusterTime(db);
  const since = new Date(now().getTime() - (o.marginMs ?? DEFAULT_MARGIN_MS));
  const common = {
    db,
    module,
    upcasters: o.upcasters,
    physical,
    config: o.config,
    logger: o.logger,
    signal: o.signal,
    now,
  };
  let first: ProjectionRun;
  let second: ProjectionRun;
  try {
    await prepareTargets(db, module, physical);
    first = await projectInto({ ...common, ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
    second = await projectInto({ ...common, filter: { storedAt: { $gte: since } } });
  } catch (e) {
    await dropAll(db, shadows).catch((d: unknown) =>
      o.logger.error({ err: toError(d), shadows }, 'could not drop the shadows: drop them by hand'),
    );
    await restoreMode(db, checkpoints, module.name, prior);
    throw e;
  }
  const swapped: string[] = [];
  for (const c of module.collections) {
    try {
      await swapIn(db, physical(c), c);
      swapped.push(c);
    } catch (e) {
      throw new ProjectordError(
        'REBUILD_SWAP_FAILED',
        `Rebuild of ${module.name} could not swap ${physical(c)} in for ${c}: ` +
          `${toError(e).message}. Swapped so far: ${swapped.join(', ') || 'none'}. ` +
          'Run projectord rebuild again.',
        { cause: e },
      );
    }
  }
  const position = toPosition(null, scanStart);
  await setPosition(checkpoints, o, position);
  return { first, second, position, collections: module.collections };
}

/** Moves the checkpoint to `position`, backwards too (save alone refuses to rewind). */
async function setPosition(
  checkpoints: CheckpointStore,
  o: RebuildOptions,
  position: Position,
): Promise<void> {
  const update = {
    position,
    moduleVersion: o.module.version,
    mode: 'live' as const,
    appliedDelta: 0,
    lastEventAt: null,
    instanceId: o.config.instanceId ?? 'projectord-rebuild',
  };
  const saved = await checkpoints.save(o.module.name, update);
  if (saved.ok) return;
  await checkpoints.reset(o.module.name, o.module.version);
  await checkpoints.save(o.module.name, update);
}

/** Puts the checkpoint back as it was before the rebuild began (only its mode changed). */
async function restoreMode(
  db: Db,
  checkpoints: CheckpointStore,
  module: string,
  prior: StoredCheckpoint | undefined,
): Promise<void> {
  if (prior) {
    await checkpoints.setMode(module, prior.mode, prior.moduleVersion);
    return;
  }
  // The document was created by this rebuild: remove it unless a daemon saved a position since.
  await db
    .collection(CHECKPOINTS)
    .deleteOne({ _id: module as never, clusterTime: { $exists: false } });
}
