import { toError } from '../lib/errors.js';
import type { Deadline } from '../modules/types.js';
import { createApplier } from './apply.js';
import { LaneCore } from './core.js';
import { createKeyTable, type Task } from './keyTable.js';
import { createParking } from './parking.js';
import { createPersist } from './persist.js';
import { releaseKey } from './release.js';
import { StoppedError, type Lane, type LaneOptions } from './types.js';

export type { EventItem, Lane, LaneOptions, Outcome } from './types.js';
export { StoppedError } from './types.js';

/**
 * One module's lane (DESIGN.md "lanes", invariants 3 and 6), composed of: the key table (each
 * key's queue and last version: keyTable.ts), the scheduling core (ready-key FIFO, concurrency,
 * backpressure: core.ts), the key runners (the hot path and spans: keyRunner.ts, span.ts), the
 * applier (handler retries, duplicates, gaps: apply.ts, gapRepair.ts) and the parking of failed
 * keys (parking.ts, release.ts). Items with the same ordering key run one at a time in arrival
 * order; different keys run concurrently. In strict mode (rebuild) the first error rejects
 * `push`/`idle` instead of parking.
 */
export function createLane(o: LaneOptions): Lane {
  const { module } = o;
  const byAggregate = module.orderingKey === undefined;
  const log = o.logger.child({ module: module.name });
  const table = createKeyTable(byAggregate);
  const abort = new AbortController();
  const persist = createPersist(abort.signal, log, o.retry.baseDelayMs);
  const parking = createParking({
    module,
    deadLetters: o.deadLetters,
    parkedKeys: o.parkedKeys,
    log,
    persist,
  });
  const applier = createApplier({
    lane: o,
    byAggregate,
    versions: table.versions,
    parking,
    persist,
    signal: abort.signal,
    log,
  });
  const core = new LaneCore(o, { abort, table, parked: parking.parked, applier, log });

  return {
    push(item) {
      const key = byAggregate ? item.event.aggregateId : module.orderingKey!(item.event);
      return core.accept(key, item);
    },
    observe(event) {
      if (!byAggregate) return;
      const state = table.get(event.aggregateId);
      const advance = () => table.versions.advance(event.aggregateId, event.version);
      if (!state?.queue) {
        advance();
        return;
      }
      // Ordered behind the events of this aggregate already waiting; counted until it ran.
      core.inFlight++;
      state.queue.push(() => Promise.resolve(advance()));
    },
    pushDeadline: (deadline) => runDeadline(deadline, core, o),
    async release(request) {
      const deps = {
        module: module.name,
        store: o.deadLetters!,
        byAggregate,
        parking,
        versions: table.versions,
        fetchBySourceId: o.fetchBySourceId,
        applyOne: applier.applyOne,
      };
      await core.accept(request.key, () => releaseKey(request, deps));
    },
    idle: () => core.idle(),
    stop: () => core.stop(),
    get inFlight() {
      return core.inFlight;
    },
    get activeKeys() {
      return table.busy;
    },
    parked: parking.parked,
    get lastProgressAt() {
      return core.lastProgressAt;
    },
    get failure() {
      return core.failure;
    },
  };
}

/**
 * Resolves once the deadline's handler ran (the scheduler then marks the deadline fired);
 * rejects on a handler error so the deadline stays claimable and fires again later.
 */
async function runDeadline(deadline: Deadline, core: LaneCore, o: LaneOptions): Promise<void> {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const ran = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  ran.catch(() => undefined); // awaited below; dropped unrun before that must not go unhandled
  const task: Task = async () => {
    try {
      if (o.executeDeadline) await o.executeDeadline(deadline);
      resolve();
    } catch (e) {
      // Warn, not error: the scheduler fires it again later (a saga deadline that came
      // before its state write does this by design).
      core.log.warn(
        { err: toError(e), deadline: deadline.id },
        'deadline handler failed; it fires again later',
      );
      reject(toError(e));
    }
  };
  // Dropped unrun (the lane stopped: a replan or a shutdown): the scheduler must hear of it,
  // or it waits on this fire forever, stops claiming, and its own stop() never returns.
  task.abandon = () => reject(new StoppedError());
  const room = core.accept(deadline.key, task);
  if (room) await room;
  await ran;
}
