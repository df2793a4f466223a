import { minPosition, type Position } from '../checkpoint/position.js';
import type { ModulePipeline } from '../dispatch/pipeline.js';
import type { SourceItem } from '../source/changeStream.js';
import { readAhead } from '../source/readAhead.js';
import type { DaemonContext } from './context.js';
import { pollDeadLetterRequests } from './deadLetterPoll.js';
import { setMode } from './pipelines.js';

/** Change events read ahead of dispatch (their store confirmations are batched). */
const READ_AHEAD = 256;

/**
 * Follows the change stream from the lowest position of the epoch's modules until the epoch's
 * signal aborts; idle positions (no event for anyone) move idle checkpoints forward.
 */
export async function followStream(
  pipelines: readonly ModulePipeline[],
  signal: AbortSignal,
  c: DaemonContext,
): Promise<void> {
  // Every epoch stamps its modules: the checkpoint names the instance running them now.
  for (const p of pipelines) await setMode(p, 'live', c);
  const start = minPosition(pipelines.map((p) => p.joinedAt).filter((p): p is Position => !!p));
  let seq = 0;
  const stopPolling = pollDeadLetterRequests(pipelines, c);
  try {
    const source = c.source({
      db: c.db,
      start,
      ...c.config.source,
      operationTimeoutMs: c.config.mongo.operationTimeoutMs,
      signal,
      logger: c.logger,
      onRestart: (reason) => c.hooks.onRestart?.(reason),
      onOpen: () => c.hooks.onStreamOpen?.(),
    });
    // Events read ahead have their store confirmations batched (see phantoms.warm).
    const warm = (item: SourceItem, waiting: readonly SourceItem[]) => {
      if (item.kind !== 'event') return;
      c.phantoms.warm(item.raw._id, () =>
        waiting.flatMap((w) => (w.kind === 'event' ? [w.raw._id] : [])),
      );
    };
    for await (const item of readAhead(source, READ_AHEAD, warm)) {
      if (item.kind === 'event') {
        seq++;
        const wait = c.dispatcher.dispatch(item.raw, pipelines, { seq, position: item.position });
        if (wait) await wait;
      } else if (item.position) {
        for (const p of pipelines)
          if (p.checkpointer.pending === 0) p.checkpointer.advanceIdle(item.position);
      }
    }
  } finally {
    stopPolling();
  }
}
