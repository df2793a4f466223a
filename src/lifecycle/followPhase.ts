import { clusterTimeToDate, minPosition, type Position } from '../checkpoint/position.js';
import type { ModulePipeline } from '../dispatch/pipeline.js';
import type { SourceItem } from '../source/changeStream.js';
import { readAhead } from '../source/readAhead.js';
import type { DaemonContext } from './context.js';
import { pollDeadLetterRequests } from './deadLetterPoll.js';
import { setMode } from './pipelines.js';
import { reopenPosition, rescanStore, watchForStalls } from './stallRepair.js';
import type { StallRequest } from './stallWatch.js';

/** Change events read ahead of dispatch (their store confirmations are batched). */
const READ_AHEAD = 256;

/**
 * Follows the change stream from the lowest position of the epoch's modules until the epoch's
 * signal aborts; idle positions (no event for anyone) move idle checkpoints forward. A stall
 * (stallWatch.ts: nothing pending while event_store holds a newer handled event) ends the
 * stream it happened on: the next one opens from the saved checkpoints, after a scan of
 * event_store when reopening alone did not deliver the event.
 */
export async function followStream(
  pipelines: readonly ModulePipeline[],
  signal: AbortSignal,
  c: DaemonContext,
): Promise<void> {
  // Every epoch stamps its modules: the checkpoint names the instance running them now.
  for (const p of pipelines) await setMode(p, 'live', c);
  let start = minPosition(pipelines.map((p) => p.joinedAt).filter((p): p is Position => !!p));
  let seq = 0;
  let dispatching = false;
  let stream = new AbortController();
  let request: StallRequest | undefined;
  const quiet = () => !dispatching && pipelines.every((p) => p.checkpointer.pending === 0);
  // Before the first delivery: what the stream's start covers, by the server's clock.
  const anchorAt = start ? clusterTimeToDate(start.clusterTime) : new Date();
  const stalls = watchForStalls(pipelines, c, anchorAt, quiet, (r) => {
    request ??= r;
    stream.abort();
  });
  const stopPolling = pollDeadLetterRequests(pipelines, c);
  // Events read ahead have their store confirmations batched (see phantoms.warm).
  const warm = (item: SourceItem, waiting: readonly SourceItem[]) => {
    if (item.kind !== 'event') return;
    c.phantoms.warm(item.raw._id, () =>
      waiting.flatMap((w) => (w.kind === 'event' ? [w.raw._id] : [])),
    );
  };
  try {
    while (!signal.aborted) {
      stream = new AbortController();
      const onStop = () => stream.abort();
      signal.addEventListener('abort', onStop, { once: true });
      try {
        const source = c.source({
          db: c.db,
          start,
          ...c.config.source,
          operationTimeoutMs: c.config.mongo.operationTimeoutMs,
          signal: stream.signal,
          logger: c.logger,
          onRestart: (reason) => c.hooks.onRestart?.(reason),
          onOpen: () => c.hooks.onStreamOpen?.(),
        });
        for await (const item of readAhead(source, READ_AHEAD, warm)) {
          if (item.kind === 'event') {
            seq++;
            dispatching = true;
            stalls.watch.delivered(item.raw);
            const wait = c.dispatcher.dispatch(item.raw, pipelines, {
              seq,
              position: item.position,
            });
            if (wait) await wait;
            dispatching = false;
          } else if (item.position) {
            for (const p of pipelines)
              if (p.checkpointer.pending === 0) p.checkpointer.advanceIdle(item.position);
          }
        }
      } finally {
        dispatching = false;
        signal.removeEventListener('abort', onStop);
      }
      const repair = request;
      request = undefined;
      if (signal.aborted || !repair) break;
      if (repair === 'rescan') {
        dispatching = true;
        await rescanStore(pipelines, c, stalls.watch, signal).finally(() => (dispatching = false));
      }
      start = (await reopenPosition(pipelines)) ?? start;
    }
  } finally {
    stalls.stop();
    stopPolling();
  }
}
