import { toPosition } from '../checkpoint/position.js';
import { createCatchUpTracker, type CatchUpTracker } from '../checkpoint/catchUpProgress.js';
import type { CatchUpProgress } from '../checkpoint/store.js';
import type { ModulePipeline } from '../dispatch/pipeline.js';
import { eventStore } from '../events/eventStore.js';
import { within } from '../lib/timeout.js';
import { scanEventStore } from '../source/catchUp.js';
import { currentClusterTime } from '../source/clusterTime.js';
import { needs, planCatchUp } from './catchUpPlan.js';
import { fencedCheckpoints } from '../partitions/fencedCheckpoints.js';
import type { DaemonContext } from './context.js';
import { setMode } from './pipelines.js';

/**
 * Catches up the modules that have no checkpoint by scanning event_store, then gives each its
 * first checkpoint: the cluster time read before its scan began, where the live stream takes
 * over (events appended during the scan arrive again there; the lane drops them as duplicates).
 * Progress is saved in each module's checkpoint as the scan goes (catchUpProgress.ts), so a
 * restart resumes where the last one stopped (catchUpPlan.ts).
 */
export async function catchUpModules(
  targets: ModulePipeline[],
  signal: AbortSignal,
  c: DaemonContext,
): Promise<void> {
  if (targets.length === 0) return;
  // Before any wait: observers (status, /readyz, tests) must never see these modules as live.
  for (const p of targets) p.checkpointer.mode = 'catching-up';
  const { config, logger } = c;
  const bound = config.mongo.operationTimeoutMs;
  const [freshStart, estimate, stored] = await Promise.all([
    within(currentClusterTime(c.db), bound, 'reading the cluster time'),
    within(eventStore(c.db).estimatedDocumentCount(), bound, 'counting event_store'),
    Promise.all(targets.map((p) => c.checkpoints.load(p.slot.name))),
  ]);
  const plan = planCatchUp(targets, stored, freshStart, estimate);
  for (const p of targets) await setMode(p, 'catching-up', c);
  const trackers = new Map<ModulePipeline, CatchUpTracker>();
  for (const [p, progress] of plan.modules) {
    trackers.set(p, trackerFor(p, progress, c));
    if (progress.after) {
      logger.info(
        { module: p.slot.name, scanned: progress.scanned, estimate },
        'resuming an interrupted catch-up',
      );
    }
  }
  logger.info({ modules: targets.map((p) => p.slot.name) }, 'catching up from event_store');
  let n = 0;
  // Per module: events handled and the newest append time, for the first checkpoint.
  const tally = new Map(targets.map((p) => [p, { applied: 0, lastEventAt: null as Date | null }]));
  let completed = false;
  try {
    for await (const { raw, position } of scanEventStore({
      db: c.db,
      batchSize: config.source.catchUpBatchSize,
      signal,
      logger,
      ...(plan.after ? { after: plan.after } : {}),
    })) {
      const wanting = targets.filter((p) => needs(plan.modules.get(p)?.after, position));
      const wait = c.dispatcher.dispatch(raw, wanting, undefined, {
        track: (p, handled) => trackers.get(p)?.scanned(position, handled),
        pushed(p) {
          const t = tally.get(p);
          if (!t) return;
          t.applied++;
          if (raw.storedAt instanceof Date && (!t.lastEventAt || raw.storedAt > t.lastEventAt)) {
            t.lastEventAt = raw.storedAt;
          }
        },
      });
      if (wait) await wait;
      if (++n % 10_000 === 0) logger.info({ events: n }, 'catching up');
    }
    await Promise.all(targets.map((p) => p.lane.idle()));
    if (!signal.aborted) {
      await c.writer.flush();
      completed = true;
    }
  } finally {
    if (!completed) {
      // Whatever finished is saved, also when the scan stopped early (a stop, an error).
      await c.writer.flush().catch(() => undefined);
      await Promise.all([...trackers.values()].map((t) => t.stop()));
    }
  }
  if (!completed) return;
  // The positions first: a stop arriving now must find them saved, not just the progress.
  await Promise.all([...trackers.values()].map((t) => t.stop({ save: false })));
  for (const p of targets) {
    const joined = toPosition(null, plan.modules.get(p)?.startAt ?? freshStart);
    p.setJoined(joined);
    p.checkpointer.mode = 'live';
    c.hooks.onModeChange?.(p.slot.name, 'live');
    const t = tally.get(p);
    // Fenced like every checkpoint save: a slot whose lease went meanwhile saves nothing.
    if (c.hooks.canWrite && !c.hooks.canWrite(p.slot.name)) continue;
    await c.checkpoints.save(p.slot.name, {
      position: joined,
      moduleVersion: p.module.version,
      mode: 'live',
      appliedDelta: t?.applied ?? 0,
      lastEventAt: t?.lastEventAt ?? null,
      instanceId: config.instanceId ?? 'unknown',
    });
    c.hooks.onCatchUpDone?.(p.slot.name);
  }
  logger.info({ events: n }, 'catch-up finished; joining the live stream');
}

function trackerFor(
  p: ModulePipeline,
  progress: CatchUpProgress,
  c: DaemonContext,
): CatchUpTracker {
  return createCatchUpTracker({
    module: p.slot.name,
    moduleVersion: p.module.version,
    instanceId: c.config.instanceId ?? 'unknown',
    store: fencedCheckpoints(c.checkpoints, c.hooks.canWrite),
    startAt: progress.startAt,
    estimate: progress.estimate,
    resumed: { after: progress.after, scanned: progress.scanned },
    everyMs: c.config.checkpoint.everyMs,
    logger: c.logger,
    onSaved: (saved, delta) => c.hooks.onCatchUpProgress?.(p.slot.name, saved, delta),
  });
}
