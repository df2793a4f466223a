import {
  clusterTimeToDate,
  compareTimestamps,
  minPosition,
  samePosition,
  type Position,
} from '../checkpoint/position.js';
import type { ModulePipeline } from '../dispatch/pipeline.js';
import type { SourceItem } from '../source/changeStream.js';
import { readAhead } from '../source/readAhead.js';
import type { DaemonContext } from './context.js';
import { pollDeadLetterRequests } from './deadLetterPoll.js';
import { reopenPosition, rescanStore, watchForStalls } from './stallRepair.js';
import type { StallRequest } from './stallWatch.js';

/** Change events read ahead of dispatch (their store confirmations are batched). */
const READ_AHEAD = 256;

/**
 * Follows the change stream from the lowest position of the epoch's pipelines until the epoch's
 * signal aborts; idle positions (no event for anyone) move idle checkpoints forward. A stall
 * (stallWatch.ts: nothing pending while event_store holds a newer handled event) ends the
 * stream it happened on: the next one opens from the saved checkpoints, after a scan of
 * event_store when reopening alone did not deliver the event.
 *
 * The set of pipelines may change while it runs (partitions handed over or taken: the epoch's
 * rebalance, slotChanges.ts), without stopping the others:
 *  - detach: the pipeline leaves the routing before the next event; the promise settles once the
 *    event being dispatched, if any, is pushed, so the caller can drain the lane after it;
 *  - attach: a pipeline joins at its `joinedAt`. At or after the last event dispatched it simply
 *    joins (events up to its position are not its own: `wants`). Behind it, the stream is
 *    reopened at the new pipeline's position and every pipeline already following is muted
 *    until the stream is back at the last event it saw (that very event included): it re-reads
 *    the gap without seeing it again. The lanes keep running meanwhile; the cost is re-reading
 *    the gap, usually the seconds a handover took.
 * Attachments are taken in between two events, so the mute point is exactly the last event
 * every following pipeline saw.
 */
export interface Follower {
  run(): Promise<void>;
  readonly pipelines: readonly ModulePipeline[];
  attach(p: ModulePipeline): void;
  detach(p: ModulePipeline): Promise<void>;
}

export function createFollower(
  initial: readonly ModulePipeline[],
  signal: AbortSignal,
  c: DaemonContext,
): Follower {
  const active: ModulePipeline[] = [...initial];
  const pending: ModulePipeline[] = [];
  /** Pipelines re-reading a gap, with the last event they saw before it. */
  const muted = new Map<ModulePipeline, Position>();
  let last: Position | undefined;
  let dispatching: Promise<unknown> | undefined;
  let seq = 0;
  let closing = new AbortController();
  let stallRequest: StallRequest | undefined;
  const quiet = () => !dispatching && active.every((p) => p.checkpointer.pending === 0);

  /** Whether `p` skips this event: it saw it before the stream was reopened behind it. */
  function mutedFor(p: ModulePipeline, position: Position): boolean {
    const until = muted.get(p);
    if (!until) return false;
    if (samePosition(position, until)) {
      muted.delete(p); // the last one it saw: the next is new to it
      return true;
    }
    if (compareTimestamps(position.clusterTime, until.clusterTime) > 0) {
      muted.delete(p);
      return false;
    }
    return true;
  }

  /** Takes the pending attachments in; the position to reopen the stream at, if one is needed. */
  function takePending(started: Position | undefined): Position | undefined {
    const joining = pending.splice(0);
    const from = last ?? started;
    const behind = joining.flatMap((p) =>
      p.joinedAt && from && compareTimestamps(p.joinedAt.clusterTime, from.clusterTime) < 0
        ? [p.joinedAt]
        : [],
    );
    // Before any event was dispatched the others saw nothing: their own `wants` suffices.
    if (behind.length > 0 && last) {
      for (const p of active) if (!muted.has(p)) muted.set(p, last);
    }
    active.push(...joining);
    return behind.length > 0 ? minPosition(behind) : undefined;
  }

  async function follow(
    start: Position | undefined,
    delivered: (raw: SourceItem & { kind: 'event' }) => void,
  ): Promise<Position | undefined> {
    // Its own signal too: a reopen or a stall closes this stream at once.
    closing = new AbortController();
    const source = c.source({
      db: c.db,
      start,
      ...c.config.source,
      operationTimeoutMs: c.config.mongo.operationTimeoutMs,
      signal: AbortSignal.any([signal, closing.signal]),
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
      if (pending.length > 0) {
        const reopenAt = takePending(start);
        if (reopenAt) {
          // What was read ahead is read again from there.
          closing.abort();
          return reopenAt;
        }
      }
      if (item.kind === 'event') {
        seq++;
        delivered(item);
        const targets = active.filter((p) => !mutedFor(p, item.position));
        const wait = c.dispatcher.dispatch(item.raw, targets, { seq, position: item.position });
        if (wait) {
          dispatching = wait;
          await wait.finally(() => (dispatching = undefined));
        }
        last = item.position;
      } else if (item.position) {
        for (const p of active) {
          if (p.checkpointer.pending === 0 && !muted.has(p))
            p.checkpointer.advanceIdle(item.position);
        }
      }
    }
    return undefined;
  }

  return {
    async run() {
      let start = minPosition(active.map((p) => p.joinedAt).filter((p): p is Position => !!p));
      // Before the first delivery: what the stream's start covers, by the server's clock.
      const anchorAt = start ? clusterTimeToDate(start.clusterTime) : new Date();
      const stalls = watchForStalls(active, c, anchorAt, quiet, (r) => {
        stallRequest ??= r;
        closing.abort();
      });
      const stopPolling = pollDeadLetterRequests(() => active, c);
      try {
        while (!signal.aborted) {
          const reopenAt = await follow(start, (item) => stalls.watch.delivered(item.raw));
          if (reopenAt) {
            c.logger.info(
              { from: { t: reopenAt.clusterTime.t, i: reopenAt.clusterTime.i }, muted: muted.size },
              'reading the stream again from a partition taken over; the others skip what they saw',
            );
            start = reopenAt;
            continue;
          }
          const repair = stallRequest;
          stallRequest = undefined;
          if (signal.aborted || !repair) return;
          // A stall repair delivers again what the stream may have missed: nobody is muted.
          muted.clear();
          if (repair === 'rescan') {
            const scan = rescanStore(active, c, stalls.watch, signal);
            dispatching = scan;
            await scan.finally(() => (dispatching = undefined));
          }
          start = (await reopenPosition(active)) ?? start;
        }
      } finally {
        stalls.stop();
        stopPolling();
      }
    },
    get pipelines() {
      return active;
    },
    attach(p) {
      pending.push(p);
    },
    async detach(p) {
      // In place: the stall watch holds this very list.
      const at = active.indexOf(p);
      if (at >= 0) active.splice(at, 1);
      const waiting = pending.indexOf(p);
      if (waiting >= 0) pending.splice(waiting, 1);
      muted.delete(p);
      await dispatching?.catch(() => undefined);
    },
  };
}
