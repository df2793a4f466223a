import { setMaxListeners } from 'node:events';
import type { Logger } from '../observability/logger.js';
import type { Applier } from './apply.js';
import type { KeyState, KeyTable, Task } from './keyTable.js';
import { KeyRunner } from './keyRunner.js';
import { StoppedError, type EventItem, type LaneOptions } from './types.js';

/**
 * The lane's scheduling core: a FIFO of ready keys and at most `concurrency` key runners
 * (keyRunner.ts), each working through one key's entries in order. Accepting an entry is
 * synchronous while the lane has room: the count of unfinished entries goes up, the key's queue
 * takes it, and an idle key starts at once on a free runner (or waits in the FIFO). Past
 * `maxInFlight` the caller gets a promise that resolves once the lane drained to three quarters
 * (the backpressure the source feels; one wait then covers many entries).
 *
 * The first failure of a key's work (not a stop) fails the lane: every entry not yet started is
 * dropped unfinished (so never checkpointed), `idle()` and later pushes reject with it.
 */
export interface LaneParts {
  abort: AbortController;
  table: KeyTable;
  parked: Set<string>;
  applier: Applier;
  log: Logger;
}

export class LaneCore {
  readonly abort: AbortController;
  readonly table: KeyTable;
  readonly parked: Set<string>;
  readonly applier: Applier;
  readonly log: Logger;
  readonly byAggregate: boolean;
  /** Whether the lane sends handlers' writes itself (else every event takes `execute`). */
  readonly fast: boolean;
  readonly spanning: boolean;
  inFlight = 0;
  active = 0;
  lastProgressAt = Date.now();
  failure: Error | undefined;
  private readonly lowWater: number;
  private ready: KeyState[] = [];
  private readyHead = 0;
  private readonly runners: KeyRunner[] = [];
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private stopWaiters: (() => void)[] = [];

  constructor(
    readonly o: LaneOptions,
    parts: LaneParts,
  ) {
    ({ abort: this.abort, table: this.table, parked: this.parked } = parts);
    ({ applier: this.applier, log: this.log } = parts);
    this.byAggregate = o.module.orderingKey === undefined;
    this.fast = o.handle !== undefined && o.writer !== undefined;
    this.spanning = this.fast && this.byAggregate && o.spans === true;
    this.lowWater = o.maxInFlight - Math.max(1, Math.floor(o.maxInFlight / 4));
    // Every key waiting out a retry backoff listens on this signal (lanes/backoff.ts sleep), up
    // to `concurrency` at once: above Node's default of 10 that is expected, not a leak.
    setMaxListeners(o.concurrency + 10, this.abort.signal);
  }

  get stopped(): boolean {
    return this.abort.signal.aborted || this.failure !== undefined;
  }

  /** Counts and queues one entry; a promise only when the lane is past `maxInFlight`. */
  accept(key: string, entry: EventItem | Task): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.abort.signal.aborted) return Promise.reject(new StoppedError());
    this.inFlight++;
    this.enqueue(key, entry);
    return this.inFlight > this.o.maxInFlight ? this.room() : undefined;
  }

  /** Queues an entry already counted; starts its key when it was idle. */
  enqueue(key: string, entry: EventItem | Task): void {
    const known = this.table.get(key);
    if (known?.queue) {
      known.queue.push(entry);
      return;
    }
    const state = this.table.open(key);
    state.queue!.push(entry);
    if (this.active < this.o.concurrency) {
      this.active++;
      (this.runners.pop() ?? new KeyRunner(this)).run(state);
    } else this.ready.push(state);
  }

  /** The next key waiting for a runner, if any. */
  takeReady(): KeyState | undefined {
    if (this.readyHead >= this.ready.length) return undefined;
    const state = this.ready[this.readyHead++];
    if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.readyHead);
      this.readyHead = 0;
    }
    return state;
  }

  /** A runner with no key left to work on. */
  release(runner: KeyRunner): void {
    this.active--;
    this.runners.push(runner);
    if (this.active === 0) this.wake('stop');
  }

  /** `n` entries finished or dropped. */
  settle(n = 1): void {
    this.inFlight -= n;
    this.lastProgressAt = Date.now();
    if (this.inFlight <= this.lowWater && this.roomWaiters.length > 0) this.wake('room');
    if (this.inFlight === 0 && this.idleWaiters.length > 0) this.wake('idle');
  }

  fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.log.error({ err }, 'lane failed');
    this.o.onFatal?.(err);
    this.abort.abort();
    this.dropReady();
  }

  idle(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.idleWaiters.push(() => (this.failure ? reject(this.failure) : resolve()));
    });
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake('room');
    this.dropReady();
    if (this.active > 0) await new Promise<void>((r) => this.stopWaiters.push(r));
  }

  private async room(): Promise<void> {
    while (this.inFlight > this.o.maxInFlight && !this.abort.signal.aborted) {
      await new Promise<void>((r) => this.roomWaiters.push(r));
    }
  }

  /** Keys that never got a runner: their entries are dropped unfinished. */
  private dropReady(): void {
    for (let s = this.takeReady(); s; s = this.takeReady()) dropEntries(this, s);
  }

  private wake(which: 'room' | 'idle' | 'stop'): void {
    const list =
      which === 'room' ? this.roomWaiters : which === 'idle' ? this.idleWaiters : this.stopWaiters;
    if (list.length === 0) return;
    if (which === 'room') this.roomWaiters = [];
    else if (which === 'idle') this.idleWaiters = [];
    else this.stopWaiters = [];
    for (const w of list) w();
  }
}

/** Drops a key's remaining entries unfinished (lane stopped or failed) and closes the key. */
export function dropEntries(core: LaneCore, state: KeyState): void {
  const queue = state.queue;
  if (!queue) return;
  for (let i = state.head; i < queue.length; i++) {
    const entry = queue[i]!;
    if (typeof entry === 'function') entry.abandon?.();
    core.settle();
  }
  core.table.close(state);
}
