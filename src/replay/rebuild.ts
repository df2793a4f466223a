import type { Db } from 'mongodb';
import { toPosition, type Position } from '../checkpoint/position.js';
import {
  CHECKPOINTS,
  createCheckpointStore,
  type CheckpointStore,
  type StoredCheckpoint,
} from '../checkpoint/store.js';
import { ProjectordError, toError } from '../lib/errors.js';
import { LeaseLostError } from '../writer/batchWriter.js';
import type { HeldLease } from '../leases/handover.js';
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
 *  4. with `exclusive` (projectord rebuild): the module's lease is taken from the daemon that
 *     runs it (src/leases/handover.ts), so nothing writes the live collections any more;
 *     T3 = the cluster time now; pass 3: the events stored since pass 2 began (minus the margin)
 *     into the shadows again, to take in what the daemon applied meanwhile;
 *  5. each shadow renamed over its live collection (renameCollection with dropTarget);
 *  6. the module's checkpoint set to T3 (T without `exclusive`), token-less, then the lease
 *     released: the daemon's keeper takes the module back and follows the stream from there,
 *     with lanes that start afresh, applying anything newer with the same guards.
 *
 * Until step 5 nothing live is touched: the first handler error, a refused handover (an owner
 * that keeps renewing) or a stop signal drops the shadows, puts the checkpoint's mode back and
 * rejects. Without `exclusive` (the daemon's own rebuild on a version bump, which runs under the
 * daemon's lease already) nothing else may write the module's collections meanwhile; its
 * `stillOwned` is asked just before the swap, and a lease lost during the passes (a partition,
 * a long pause: another instance may be rebuilding too) drops the shadows instead of swapping.
 */
export interface RebuildOptions extends RecomputeOptions {
  now?(): Date;
  marginMs?: number;
  /** Progress of pass 1 (events scanned). */
  onProgress?(scanned: number): void;
  /** Called after pass 2: takes the module from its owner until `release()` (step 4 above). */
  exclusive?: () => Promise<HeldLease>;
  /**
   * A seam for tests, run after pass 2 and before `exclusive`: the window in which a running
   * daemon's writes used to be lost by the swap.
   */
  afterCatchUp?: () => Promise<void>;
  /** Without `exclusive`: whether this process still holds the module's lease (step 5). */
  stillOwned?: () => boolean;
  /**
   * The module's checkpoint names: one per partition (`<module>#<p>`), or the module's own
   * name (the default) when it has one. Each is marked rebuilding and set to the rebuilt
   * position: the read model is one for all partitions.
   */
  slots?: readonly string[];
}

export interface RebuildResult {
  first: ProjectionRun;
  second: ProjectionRun;
  /** Pass 3, under the module's lease (with `exclusive` only). */
  third?: ProjectionRun;
  /** The position the module's checkpoint was set to. */
  position: Position;
  collections: readonly string[];
}

const DEFAULT_MARGIN_MS = 60_000;

export async function rebuildModule(o: RebuildOptions): Promise<RebuildResult> {
  const { db, module } = o;
  const now = o.now ?? (() => new Date());
  const marginMs = o.marginMs ?? DEFAULT_MARGIN_MS;
  const checkpoints = createCheckpointStore(db, now);
  const slots = o.slots ?? [module.name];
  const prior = new Map<string, StoredCheckpoint | undefined>();
  for (const slot of slots) {
    const stored = await checkpoints.load(slot);
    prior.set(slot, stored);
    await checkpoints.setMode(slot, 'rebuilding', stored?.moduleVersion ?? module.version);
  }
  const physical = physicalMap(module.collections, rebuildName);
  const shadows = module.collections.map(physical);
  let startedAt = await currentClusterTime(db);
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
  const storedSince = (d: Date) => ({ storedAt: { $gte: new Date(d.getTime() - marginMs) } });
  const since = now();
  let held: HeldLease | undefined;
  const release = () =>
    held?.release().catch((r: unknown) => {
      o.logger.warn(
        { err: toError(r), module: module.name },
        'could not release the lease; it will expire',
      );
    });
  let runs: Pick<RebuildResult, 'first' | 'second' | 'third'>;
  try {
    await prepareTargets(db, module, physical);
    const first = await projectInto({
      ...common,
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    const secondBegan = now();
    const second = await projectInto({ ...common, filter: storedSince(since) });
    await o.afterCatchUp?.();
    if (!o.exclusive) {
      if (o.stillOwned && !o.stillOwned()) throw new LeaseLostError(module.name);
      runs = { first, second };
    } else {
      held = await o.exclusive();
      startedAt = await currentClusterTime(db);
      const third = await projectInto({ ...common, filter: storedSince(secondBegan) });
      held.assertHeld();
      runs = { first, second, third };
    }
  } catch (e) {
    await release();
    await dropAll(db, shadows).catch((d: unknown) =>
      o.logger.error({ err: toError(d), shadows }, 'could not drop the shadows: drop them by hand'),
    );
    for (const slot of slots) await restoreMode(db, checkpoints, slot, prior.get(slot));
    throw e;
  }
  try {
    await swapAll(db, module.name, module.collections, physical);
    const position = toPosition(null, startedAt);
    for (const slot of slots) await setPosition(checkpoints, o, slot, position);
    return { ...runs, position, collections: module.collections };
  } finally {
    await release();
  }
}

async function swapAll(
  db: Db,
  moduleName: string,
  collections: readonly string[],
  physical: (collection: string) => string,
): Promise<void> {
  const swapped: string[] = [];
  for (const c of collections) {
    try {
      await swapIn(db, physical(c), c);
      swapped.push(c);
    } catch (e) {
      throw new ProjectordError(
        'REBUILD_SWAP_FAILED',
        `Rebuild of ${moduleName} could not swap ${physical(c)} in for ${c}: ` +
          `${toError(e).message}. Swapped so far: ${swapped.join(', ') || 'none'}. ` +
          'Run projectord rebuild again.',
        { cause: e },
      );
    }
  }
}

/** Moves the checkpoint to `position`, backwards too (save alone refuses to rewind). */
async function setPosition(
  checkpoints: CheckpointStore,
  o: RebuildOptions,
  slot: string,
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
  const saved = await checkpoints.save(slot, update);
  if (saved.ok) return;
  await checkpoints.reset(slot, o.module.version);
  await checkpoints.save(slot, update);
}

/** Puts a checkpoint back as it was before the rebuild began (only its mode changed). */
async function restoreMode(
  db: Db,
  checkpoints: CheckpointStore,
  slot: string,
  prior: StoredCheckpoint | undefined,
): Promise<void> {
  if (prior) {
    await checkpoints.setMode(slot, prior.mode, prior.moduleVersion);
    return;
  }
  // The document was created by this rebuild: remove it unless a daemon saved a position since.
  await db
    .collection(CHECKPOINTS)
    .deleteOne({ _id: slot as never, clusterTime: { $exists: false } });
}
