import { setMaxListeners } from 'node:events';
import PQueue from 'p-queue';
import type { ProjectorEvent, RawEventDocument } from '../events/types.js';
import { toError } from '../lib/errors.js';
import type { Deadline, ModuleDefinition } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';
import { classifyError } from '../source/errors.js';
import { LeaseLostError } from '../writer/batchWriter.js';
import { backoffDelay, sleep } from './backoff.js';
import type { DeadLetter, DeadLetterStore } from './deadLetters.js';

/**
 * One module's lane (DESIGN.md "lanes", invariants 3 and 6). Items with the same ordering key
 * run one at a time in arrival order; different keys run concurrently up to `concurrency`.
 * `push` waits while `maxInFlight` items are accepted and unfinished: that wait is the
 * backpressure the source feels. Per-key queues are created on demand and dropped when empty.
 *
 * For modules ordered by aggregate, the lane remembers the last version it applied per
 * aggregate: an older or equal version is a duplicate; a jump is a gap, repaired from
 * event_store first. A handler error is retried with backoff; after `maxAttempts` (or at once
 * for invalid input) the event is parked in the dead letters and later items of its key are
 * recorded there as waiting, until an operator retries or skips it. Infrastructure errors are
 * retried without limit and never blamed on the event. In strict mode (rebuild) the first error
 * rejects `push`/`idle` instead.
 */
export type Outcome = 'applied' | 'duplicate' | 'dead_lettered' | 'waiting';

export interface EventItem {
  event: ProjectorEvent;
  raw: RawEventDocument;
  /** Called once the item is durably finished (any outcome). Not called when stopped first. */
  done?(outcome: Outcome): void;
}

export interface LaneOptions {
  module: ModuleDefinition;
  maxInFlight: number;
  concurrency: number;
  retry: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number };
  execute(event: ProjectorEvent): Promise<'applied' | 'duplicate'>;
  executeDeadline?(deadline: Deadline): Promise<void>;
  fetchVersions(
    aggregateId: string,
    from: number,
    to: number,
  ): Promise<{ event: ProjectorEvent; raw: RawEventDocument }[]>;
  fetchBySourceId(
    sourceId: unknown,
  ): Promise<{ event: ProjectorEvent; raw: RawEventDocument } | undefined>;
  deadLetters?: DeadLetterStore;
  parkedKeys?: Iterable<string>;
  strict?: boolean;
  logger: Logger;
  onOutcome?(event: ProjectorEvent, outcome: Outcome, ms: number): void;
  onFatal?(error: Error): void;
}

export interface Lane {
  push(item: EventItem): Promise<void>;
  /**
   * An event of an aggregate this module does not handle (another type, or already covered by
   * its checkpoint): it still moves the aggregate's version, so it is not mistaken for a gap.
   */
  observe(event: ProjectorEvent): void;
  pushDeadline(deadline: Deadline): Promise<void>;
  /** Performs an operator's retry/skip request for a parked key, in order. */
  release(request: DeadLetter): Promise<void>;
  idle(): Promise<void>;
  stop(): Promise<void>;
  readonly inFlight: number;
  readonly activeKeys: number;
  readonly parked: ReadonlySet<string>;
  readonly lastProgressAt: number;
  readonly failure: Error | undefined;
}

/** A unit of a key's queue; `abandon` settles whoever waits on it when the lane drops it unrun. */
type Task = (() => Promise<unknown>) & { abandon?: () => void };

const MAX_REMEMBERED_AGGREGATES = 200_000;

export class StoppedError extends Error {
  constructor() {
    super('lane stopped');
    this.name = 'StoppedError';
  }
}

export function createLane(o: LaneOptions): Lane {
  const { module } = o;
  const byAggregate = module.orderingKey === undefined;
  const keyOf = (e: ProjectorEvent) => (byAggregate ? e.aggregateId : module.orderingKey!(e));
  // Last applied version per aggregate, for duplicate and gap detection. Bounded: forgetting an
  // aggregate only means its next event is applied without the check (the guards still hold).
  const versions = new Map<string, number>();
  const handles = new Set<string>(module.handles);
  // The oldest remembered aggregate is forgotten first (insertion order: a Map set keeps it, so
  // the hot path is one lookup and one set, no re-insertion).
  const rememberVersion = (aggregateId: string, version: number) => {
    if (versions.size >= MAX_REMEMBERED_AGGREGATES && !versions.has(aggregateId)) {
      const oldest = versions.keys().next();
      if (!oldest.done) versions.delete(oldest.value);
    }
    versions.set(aggregateId, version);
  };
  const parked = new Set<string>(o.parkedKeys ?? []);
  const keys = new Map<string, Task[]>();
  const pq = new PQueue({ concurrency: o.concurrency });
  const abort = new AbortController();
  // Every key waiting out a retry backoff listens on this signal (lanes/backoff.ts sleep), up to
  // `concurrency` at once: above Node's default of 10 that is expected, not a leak to warn about.
  setMaxListeners(o.concurrency + 10, abort.signal);
  let inFlight = 0;
  let roomWaiters: (() => void)[] = [];
  let idleWaiters: (() => void)[] = [];
  let lastProgressAt = Date.now();
  let failure: Error | undefined;
  const log = o.logger.child({ module: module.name });

  function settle(): void {
    inFlight--;
    lastProgressAt = Date.now();
    if (inFlight < o.maxInFlight && roomWaiters.length > 0) {
      const w = roomWaiters;
      roomWaiters = [];
      w.forEach((r) => r());
    }
    if (inFlight === 0 && idleWaiters.length > 0) {
      const w = idleWaiters;
      idleWaiters = [];
      w.forEach((r) => r());
    }
  }

  function enqueue(key: string, task: Task): void {
    const queue = keys.get(key);
    if (queue) {
      queue.push(task);
      return;
    }
    keys.set(key, [task]);
    void pq.add(() => drain(key));
  }

  async function drain(key: string): Promise<void> {
    const queue = keys.get(key);
    while (queue && queue.length > 0 && !abort.signal.aborted && !failure) {
      const task = queue.shift()!;
      try {
        await task();
      } catch (e) {
        const err = toError(e);
        if (!(err instanceof StoppedError)) fail(err);
      } finally {
        settle();
      }
    }
    if (queue && queue.length > 0) {
      // stopped or failed: the rest stays unfinished (not checkpointed) and is dropped here
      for (const task of queue) {
        task.abandon?.();
        settle();
      }
    }
    keys.delete(key);
  }

  function fail(err: Error): void {
    if (failure) return;
    failure = err;
    log.error({ err }, 'lane failed');
    o.onFatal?.(err);
    abort.abort();
  }

  async function persistently<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (abort.signal.aborted) throw new StoppedError();
        log.warn({ err: toError(e), attempt }, `${what} failed; retrying`);
        await sleep(backoffDelay(attempt, o.retry.baseDelayMs || 50, 10_000), abort.signal);
      }
    }
  }

  function fieldOf(e: Error): string | undefined {
    const f = (e as Error & { field?: unknown }).field;
    return typeof f === 'string' ? f : undefined;
  }

  /** What identifies an event in the dead letters (and lets a retry re-read it). */
  function letterOf(item: EventItem, key: string) {
    const { event } = item;
    return {
      module: module.name,
      key,
      eventId: event.eventId,
      aggregateId: event.aggregateId,
      eventType: event.eventType,
      version: event.version,
      sourceId: item.raw._id,
      event: item.raw,
    };
  }

  async function applyEvent(item: EventItem, key: string): Promise<Outcome> {
    const { event } = item;
    if (parked.has(key)) {
      if (!o.deadLetters) throw new Error(`key ${key} is parked but no dead-letter store is set`);
      await persistently('recording a waiting event', () =>
        o.deadLetters!.wait(letterOf(item, key)),
      );
      return 'waiting';
    }
    if (byAggregate) {
      const known = versions.get(event.aggregateId);
      if (known !== undefined && event.version <= known) return 'duplicate';
      if (known !== undefined && event.version > known + 1) {
        const missing = await persistently('gap repair', () =>
          o.fetchVersions(event.aggregateId, known + 1, event.version - 1),
        );
        log.info(
          {
            aggregateId: event.aggregateId,
            from: known + 1,
            to: event.version - 1,
            found: missing.length,
          },
          'repairing a version gap',
        );
        const contiguous = missing.every((m, i) => m.event.version === known + 1 + i);
        if (!contiguous || missing.length !== event.version - 1 - known) {
          // The store itself has a hole: applying on would break per-aggregate order for good.
          const err = Object.assign(
            new Error(
              `version gap: ${event.aggregateId} stands at ${known} here, but versions ${known + 1}..${event.version - 1} ` +
                'are not all in event_store; skip this event (dlq skip) once the store is repaired',
            ),
            { field: 'version' },
          );
          await park(item, key, err, 0, 'version');
          return 'dead_lettered';
        }
        for (const m of missing) {
          if (!handles.has(m.event.eventType)) {
            rememberVersion(m.event.aggregateId, m.event.version);
            continue;
          }
          if ((await applyOne(m, key)) === 'dead_lettered') return applyEvent(item, key);
        }
      }
    }
    return applyOne(item, key);
  }

  async function applyOne(item: EventItem, key: string): Promise<Outcome> {
    const { event } = item;
    if (parked.has(key)) return applyEvent(item, key);
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      if (abort.signal.aborted) throw new StoppedError();
      try {
        const outcome = await o.execute(event);
        if (byAggregate) rememberVersion(event.aggregateId, event.version);
        o.onOutcome?.(event, outcome, performance.now() - started);
        return outcome;
      } catch (e) {
        const err = toError(e);
        if (err instanceof LeaseLostError) throw err;
        const kind = classifyError(err);
        if (o.strict && kind !== 'infrastructure') throw err;
        if (kind === 'infrastructure') {
          log.warn({ err, eventId: event.eventId }, 'database unavailable; retrying');
          await sleep(
            backoffDelay(Math.min(attempt, 8), o.retry.baseDelayMs || 50, o.retry.maxDelayMs),
            abort.signal,
          );
          attempt--; // not the event's fault
          continue;
        }
        const field = fieldOf(err);
        if (field !== undefined || attempt >= o.retry.maxAttempts) {
          await park(item, key, err, attempt, field);
          o.onOutcome?.(event, 'dead_lettered', performance.now() - started);
          return 'dead_lettered';
        }
        log.debug({ err, eventId: event.eventId, attempt }, 'handler failed; retrying');
        await sleep(backoffDelay(attempt, o.retry.baseDelayMs, o.retry.maxDelayMs), abort.signal);
      }
    }
  }

  async function park(item: EventItem, key: string, err: Error, attempts: number, field?: string) {
    if (!o.deadLetters) throw err;
    const { event } = item;
    log.error(
      { err, eventId: event.eventId, key, attempts },
      'event dead-lettered; its key is parked',
    );
    await persistently('dead-lettering', () =>
      o.deadLetters!.park({
        ...letterOf(item, key),
        error: { message: err.message, ...(field ? { field } : {}) },
        attempts,
      }),
    );
    parked.add(key);
  }

  async function accept(): Promise<void> {
    if (failure) throw failure;
    if (abort.signal.aborted) throw new StoppedError();
    inFlight++;
    while (inFlight > o.maxInFlight && !abort.signal.aborted) {
      await new Promise<void>((r) => roomWaiters.push(r));
    }
  }

  async function releaseKey(request: DeadLetter): Promise<void> {
    const store = o.deadLetters!;
    const key = request.key;
    parked.delete(key);
    if (request.status === 'skip-requested') {
      await store.setStatus(request._id, 'skipped', {
        skippedBy: request.requestedBy ?? 'unknown',
      });
      if (byAggregate && typeof request.version === 'number') {
        rememberVersion(
          String(request.aggregateId),
          Math.max(versions.get(String(request.aggregateId)) ?? 0, request.version),
        );
      }
    } else {
      const found = await o.fetchBySourceId(request.sourceId);
      if (!found) {
        await store.setStatus(request._id, 'parked', {
          error: { message: 'event no longer in event_store' },
        });
        parked.add(key);
        return;
      }
      const outcome = await applyOne(found, key);
      if (outcome === 'dead_lettered') return; // parked again, with the new error
      await store.setStatus(request._id, 'resolved');
    }
    for (const w of await store.waiting(module.name, key)) {
      const found = await o.fetchBySourceId(w.sourceId);
      if (!found) continue;
      const outcome = await applyOne(found, key);
      // Parked again: park() turned this very entry (same _id) into the new parked one.
      if (outcome === 'dead_lettered') return;
      await store.setStatus(w._id, 'resolved');
    }
  }

  return {
    async push(item) {
      await accept();
      const key = keyOf(item.event);
      enqueue(key, () => {
        // The common case — key not parked, the aggregate's next version (or one not seen) —
        // goes straight to the handler; duplicates, gaps and parked keys take applyEvent.
        const known = byAggregate ? versions.get(item.event.aggregateId) : undefined;
        const direct =
          !parked.has(key) && (known === undefined || item.event.version === known + 1);
        const outcome = direct ? applyOne(item, key) : applyEvent(item, key);
        return item.done ? outcome.then(item.done) : outcome;
      });
    },
    observe(event) {
      if (!byAggregate) return;
      const key = event.aggregateId;
      const advance = () => {
        const known = versions.get(key);
        if (known !== undefined && known < event.version) rememberVersion(key, event.version);
      };
      const queue = keys.get(key);
      if (queue) {
        // Ordered behind the events of this aggregate already waiting; not counted as in flight.
        inFlight++;
        queue.push(() => Promise.resolve(advance()));
      } else advance();
    },
    async pushDeadline(deadline) {
      await accept();
      // Resolves once the handler ran (the scheduler then marks the deadline fired); rejects on
      // a handler error so the deadline stays claimable and fires again later.
      await new Promise<void>((resolve, reject) => {
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
        enqueue(deadline.key, task);
      });
    },
    async release(request) {
      await accept();
      enqueue(request.key, () => releaseKey(request));
    },
    idle() {
      if (failure) return Promise.reject(failure);
      if (inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        idleWaiters.push(() => (failure ? reject(failure) : resolve()));
      });
    },
    async stop() {
      abort.abort();
      roomWaiters.forEach((r) => r());
      roomWaiters = [];
      await pq.onIdle();
    },
    get inFlight() {
      return inFlight;
    },
    get activeKeys() {
      return keys.size;
    },
    parked,
    get lastProgressAt() {
      return lastProgressAt;
    },
    get failure() {
      return failure;
    },
  };
}
