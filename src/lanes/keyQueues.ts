import { setMaxListeners } from 'node:events';
import PQueue from 'p-queue';
import { toError } from '../lib/errors.js';
import { StoppedError } from './types.js';

/**
 * The lane's scheduling core: per-key FIFO queues run one task at a time, different keys run
 * concurrently up to `concurrency`. `accept` counts a unit in flight and waits while more than
 * `maxInFlight` are unfinished: that wait is the backpressure the source feels. A key's queue is
 * created on demand and dropped when empty. The first task error (other than a stop) fails the
 * whole lane: the rest of every queue is dropped unrun (unfinished, so not checkpointed).
 */
export interface KeyQueues {
  /** Counts one unit in flight; waits for room. Rejects once the lane failed or stopped. */
  accept(): Promise<void>;
  /** Queues a task (already counted by accept) behind the key's earlier tasks. */
  enqueue(key: string, task: Task): void;
  /**
   * Queues a task behind the key's waiting tasks, counting it in flight, when the key has any;
   * false when the key is idle (the caller then does the work at once).
   */
  enqueueIfBusy(key: string, task: Task): boolean;
  idle(): Promise<void>;
  stop(): Promise<void>;
  /** Aborts when the lane stops or fails: every wait of a task listens on it. */
  readonly signal: AbortSignal;
  readonly inFlight: number;
  readonly activeKeys: number;
  readonly lastProgressAt: number;
  readonly failure: Error | undefined;
}

/** A unit of a key's queue; `abandon` settles whoever waits on it when the lane drops it unrun. */
export type Task = (() => Promise<unknown>) & { abandon?: () => void };

export interface KeyQueuesOptions {
  maxInFlight: number;
  concurrency: number;
  onFail(error: Error): void;
}

export function createKeyQueues(o: KeyQueuesOptions): KeyQueues {
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

  function fail(err: Error): void {
    if (failure) return;
    failure = err;
    o.onFail(err);
    abort.abort();
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

  function enqueue(key: string, task: Task): void {
    const queue = keys.get(key);
    if (queue) {
      queue.push(task);
      return;
    }
    keys.set(key, [task]);
    void pq.add(() => drain(key));
  }

  return {
    async accept() {
      if (failure) throw failure;
      if (abort.signal.aborted) throw new StoppedError();
      inFlight++;
      while (inFlight > o.maxInFlight && !abort.signal.aborted) {
        await new Promise<void>((r) => roomWaiters.push(r));
      }
    },
    enqueue,
    enqueueIfBusy(key, task) {
      const queue = keys.get(key);
      if (!queue) return false;
      inFlight++;
      queue.push(task);
      return true;
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
    signal: abort.signal,
    get inFlight() {
      return inFlight;
    },
    get activeKeys() {
      return keys.size;
    },
    get lastProgressAt() {
      return lastProgressAt;
    },
    get failure() {
      return failure;
    },
  };
}
