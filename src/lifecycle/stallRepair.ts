import { minPosition, type Position } from '../checkpoint/position.js';
import type { ModulePipeline } from '../dispatch/pipeline.js';
import { eventStore } from '../events/eventStore.js';
import { toError } from '../lib/errors.js';
import type { DaemonContext } from './context.js';
import { createStallProbe, EVENT_ORDER_INDEX } from './stallProbe.js';
import { createStallWatch, type StallRequest, type StallWatch } from './stallWatch.js';

/**
 * The follow phase's side of stall handling (stallWatch.ts): the probe timer, and the two
 * repairs — reopening the stream from the saved checkpoints, and scanning event_store for what
 * the stream did not deliver.
 */
export interface StallTimer {
  watch: StallWatch;
  stop(): void;
}

export function watchForStalls(
  pipelines: readonly ModulePipeline[],
  c: DaemonContext,
  anchorAt: Date,
  quiet: () => boolean,
  repair: (r: StallRequest) => void,
): StallTimer {
  const { stallMs } = c.config.health;
  const types = [...new Set(pipelines.flatMap((p) => [...p.handles]))];
  const watch = createStallWatch({
    stallMs,
    // Writers' clocks may run a little ahead of the server's: only events clearly later count.
    anchor: { at: new Date(anchorAt.getTime() + stallMs) },
    probe: createStallProbe({
      db: c.db,
      types,
      timeoutMs: c.config.mongo.operationTimeoutMs,
      logger: c.logger,
    }),
    quiet,
    handling: (type) => pipelines.filter((p) => p.handles.has(type)).map((p) => p.slot.name),
    stalls: c.stalls,
    now: () => performance.now(),
    logger: c.logger,
    onStall: (slot, action) => c.hooks.onStall?.(slot, action),
  });
  let checking = false;
  const timer = setInterval(() => {
    if (checking || types.length === 0) return;
    checking = true;
    watch
      .check()
      .then((r) => r && repair(r))
      .catch((e: unknown) =>
        c.logger.debug({ err: toError(e) }, 'stall probe failed; trying again next period'),
      )
      .finally(() => (checking = false));
  }, stallMs);
  timer.unref();
  return {
    watch,
    stop() {
      clearInterval(timer);
      watch.clear();
    },
  };
}

/** Where a reopened stream starts: every slot's checkpoint, saved now (nothing is pending). */
export async function reopenPosition(
  pipelines: readonly ModulePipeline[],
): Promise<Position | undefined> {
  for (const p of pipelines) await p.checkpointer.flush();
  return minPosition(
    pipelines
      .map((p) => p.checkpointer.lastSaved ?? p.joinedAt)
      .filter((x): x is Position => x !== undefined),
  );
}

/**
 * Delivers every event from one stall period before the newest delivered one onward, in
 * `{eventTimestamp, _id}` order, to the modules (as catch-up does: not through the checkpoints;
 * the guards make a repeat harmless). The margin covers writers whose clocks disagree.
 */
export async function rescanStore(
  pipelines: readonly ModulePipeline[],
  c: DaemonContext,
  watch: StallWatch,
  signal: AbortSignal,
): Promise<void> {
  const from = new Date(watch.seen.at.getTime() - c.config.health.stallMs);
  const cursor = eventStore(c.db)
    .find({ eventTimestamp: { $gte: from } })
    .sort(EVENT_ORDER_INDEX)
    .batchSize(c.config.source.batchSize);
  let delivered = 0;
  try {
    for await (const raw of cursor) {
      if (signal.aborted) break;
      watch.delivered(raw);
      const wait = c.dispatcher.dispatch(raw, pipelines);
      if (wait) await wait;
      delivered++;
    }
  } finally {
    await cursor.close().catch(() => undefined);
  }
  c.logger.info({ from, delivered }, 'scanned event_store for what the stream did not deliver');
}
