import { toError } from '../lib/errors.js';
import type { Deadline } from '../modules/types.js';
import { createApplier } from './apply.js';
import { createKeyQueues, type KeyQueues, type Task } from './keyQueues.js';
import { createParking } from './parking.js';
import { createPersist } from './persist.js';
import { releaseKey } from './release.js';
import { StoppedError, type Lane, type LaneOptions } from './types.js';
import { createVersionMemory } from './versionMemory.js';

export type { EventItem, Lane, LaneOptions, Outcome } from './types.js';
export { StoppedError } from './types.js';

/**
 * One module's lane (DESIGN.md "lanes", invariants 3 and 6), composed of: the key queues
 * (ordering, concurrency, backpressure: keyQueues.ts), the version memory (duplicates and gaps:
 * versionMemory.ts, gapRepair.ts), the applier (handler retries: apply.ts) and the parking of
 * failed keys (parking.ts, release.ts). Items with the same ordering key run one at a time in
 * arrival order; different keys run concurrently. In strict mode (rebuild) the first error
 * rejects `push`/`idle` instead of parking.
 */
export function createLane(o: LaneOptions): Lane {
  const { module } = o;
  const byAggregate = module.orderingKey === undefined;
  const keyOf = (e: LaneEvent) => (byAggregate ? e.aggregateId : module.orderingKey!(e));
  const log = o.logger.child({ module: module.name });
  const queues = createKeyQueues({
    maxInFlight: o.maxInFlight,
    concurrency: o.concurrency,
    onFail(err) {
      log.error({ err }, 'lane failed');
      o.onFatal?.(err);
    },
  });
  const { signal } = queues;
  const persist = createPersist(signal, log, o.retry.baseDelayMs);
  const versions = createVersionMemory();
  const parking = createParking({
    module,
    deadLetters: o.deadLetters,
    parkedKeys: o.parkedKeys,
    log,
    persist,
  });
  const applier = createApplier({ lane: o, byAggregate, versions, parking, persist, signal, log });

  return {
    async push(item) {
      await queues.accept();
      const key = keyOf(item.event);
      queues.enqueue(key, () => {
        const outcome = applier.run(item, key);
        return item.done ? outcome.then(item.done) : outcome;
      });
    },
    observe(event) {
      if (!byAggregate) return;
      // Ordered behind the events of this aggregate already waiting, if any.
      const advance = () => versions.advance(event.aggregateId, event.version);
      if (!queues.enqueueIfBusy(event.aggregateId, () => Promise.resolve(advance()))) advance();
    },
    async pushDeadline(deadline) {
      await queues.accept();
      await runDeadline(deadline, queues, o, log);
    },
    async release(request) {
      await queues.accept();
      const deps = {
        module: module.name,
        store: o.deadLetters!,
        byAggregate,
        parking,
        versions,
        fetchBySourceId: o.fetchBySourceId,
        applyOne: applier.applyOne,
      };
      queues.enqueue(request.key, () => releaseKey(request, deps));
    },
    idle: () => queues.idle(),
    stop: () => queues.stop(),
    get inFlight() {
      return queues.inFlight;
    },
    get activeKeys() {
      return queues.activeKeys;
    },
    parked: parking.parked,
    get lastProgressAt() {
      return queues.lastProgressAt;
    },
    get failure() {
      return queues.failure;
    },
  };
}

type LaneEvent = Parameters<LaneOptions['execute']>[0];

/**
 * Resolves once the deadline's handler ran (the scheduler then marks the deadline fired);
 * rejects on a handler error so the deadline stays claimable and fires again later.
 */
function runDeadline(
  deadline: Deadline,
  queues: KeyQueues,
  o: LaneOptions,
  log: LaneOptions['logger'],
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const task: Task = async () => {
      try {
        if (o.executeDeadline) await o.executeDeadline(deadline);
        resolve();
      } catch (e) {
        // Warn, not error: the scheduler fires it again later (a saga deadline that came
        // before its state write does this by design).
        log.warn(
          { err: toError(e), deadline: deadline.id },
          'deadline handler failed; it fires again later',
        );
        reject(toError(e));
      }
    };
    // Dropped unrun (the lane stopped: a replan or a shutdown): the scheduler must hear of it,
    // or it waits on this fire forever, stops claiming, and its own stop() never returns.
    task.abandon = () => reject(new StoppedError());
    queues.enqueue(deadline.key, task);
  });
}
