import { toPosition } from '../checkpoint/position.js';
import type { ModulePipeline } from '../dispatch/pipeline.js';
import { within } from '../lib/timeout.js';
import { catchUpSource } from '../source/catchUp.js';
import { currentClusterTime } from '../source/clusterTime.js';
import type { DaemonContext } from './context.js';
import { setMode } from './pipelines.js';

/**
 * Catches up the modules that have no checkpoint by scanning event_store, then gives each its
 * first checkpoint: the cluster time read before the scan, where the live stream takes over
 * (events appended during the scan arrive again there; the lane drops them as duplicates).
 */
export async function catchUpModules(
  targets: ModulePipeline[],
  signal: AbortSignal,
  c: DaemonContext,
): Promise<void> {
  if (targets.length === 0) return;
  const { config, logger } = c;
  const scanStart = await within(
    currentClusterTime(c.db),
    config.mongo.operationTimeoutMs,
    'reading the cluster time',
  );
  for (const p of targets) await setMode(p, 'catching-up', c);
  logger.info({ modules: targets.map((p) => p.slot.name) }, 'catching up from event_store');
  let n = 0;
  // Per module: events handled and the newest append time, for the first checkpoint.
  const tally = new Map(targets.map((p) => [p, { applied: 0, lastEventAt: null as Date | null }]));
  for await (const raw of catchUpSource({
    db: c.db,
    batchSize: config.source.catchUpBatchSize,
    signal,
    logger,
  })) {
    const wait = c.dispatcher.dispatch(raw, targets, undefined, (p) => {
      const t = tally.get(p);
      if (!t) return;
      t.applied++;
      if (raw.storedAt instanceof Date && (!t.lastEventAt || raw.storedAt > t.lastEventAt)) {
        t.lastEventAt = raw.storedAt;
      }
    });
    if (wait) await wait;
    if (++n % 10_000 === 0) logger.info({ events: n }, 'catching up');
  }
  await Promise.all(targets.map((p) => p.lane.idle()));
  if (signal.aborted) return;
  await c.writer.flush();
  const joined = toPosition(null, scanStart);
  for (const p of targets) {
    p.setJoined(joined);
    p.checkpointer.mode = 'live';
    c.hooks.onModeChange?.(p.slot.name, 'live');
    const t = tally.get(p);
    await c.checkpoints.save(p.slot.name, {
      position: joined,
      moduleVersion: p.module.version,
      mode: 'live',
      appliedDelta: t?.applied ?? 0,
      lastEventAt: t?.lastEventAt ?? null,
      instanceId: config.instanceId ?? 'unknown',
    });
  }
  logger.info({ events: n }, 'catch-up finished; joining the live stream');
}
