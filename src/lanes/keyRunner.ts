import { toError } from '../lib/errors.js';
import type { ReadBarrier } from '../modules/context.js';
import type { OpOutcome, WriteReceiver } from '../writer/batchWriter.js';
import type { Writes } from '../writer/intents.js';
import { dropEntries, type LaneCore } from './core.js';
import type { KeyState, Task } from './keyTable.js';
import { Span } from './span.js';
import { StoppedError, type EventItem, type Outcome } from './types.js';

/** The most events one span holds (one write per document for all of them). */
export const MAX_SPAN = 256;

const isPromise = (v: unknown): v is Promise<Writes> => v instanceof Promise;

/**
 * Works through one key's entries in order, then the next ready key's. The hot path, for an
 * event that is its aggregate's next (not parked, no gap, no duplicate): the handler runs —
 * synchronously when it is synchronous — and its writes join the span; the span is sent when
 * the key has nothing more ready, when an event cannot join (writer/merge.ts), or before a
 * handler reads (the runner is the handlers' ReadBarrier). The runner is itself the writer's
 * receiver: no promise and no closure per event while the write is in flight.
 *
 * When the span is written every event in it is finished with its outcome. A span of several
 * events that the store refused in part (a document already partly applied: a re-delivery after
 * a crash) or that failed is re-run event by event through the applier (apply.ts: retries,
 * parking), so exactly-once holds as it does for single events. Everything that is not the hot
 * path — duplicates, gaps, parked keys, deadlines, operator requests — takes the applier too.
 */
export class KeyRunner implements WriteReceiver, ReadBarrier {
  private state: KeyState | undefined;
  private readonly span = new Span();
  private ticket = 0;
  private unanswered = 0;
  private anyApplied = false;
  private anyDuplicate = false;
  /** An async handler runs for the entry at the head. */
  private handling = false;
  /** A handler waits in `beforeRead` for the span to be written. */
  private reading: { promise: Promise<void>; resolve(): void; reject(e: Error): void } | undefined;
  /** The head entry's handler already ran: its writes (or its error) wait for the span. */
  private carried: Writes | undefined;
  private carriedStarted = 0;
  private carriedError: Error | undefined;

  constructor(private readonly core: LaneCore) {}

  run(state: KeyState): void {
    this.state = state;
    this.pump();
  }

  /** Goes on with the current key until it must wait; then moves to the next ready key. */
  private pump(): void {
    for (;;) {
      const s = this.state!;
      if (this.core.stopped) {
        this.dropSpan();
        this.carried = undefined;
        this.carriedError = undefined;
        dropEntries(this.core, s);
        if (!this.next()) return;
        continue;
      }
      const entry = s.queue![s.head];
      if (entry === undefined || typeof entry === 'function' || !this.canJoin(s, entry)) {
        if (this.span.size > 0) {
          if (this.send()) return;
          continue;
        }
        if (entry === undefined) {
          if (!this.next()) return;
          continue;
        }
        if (typeof entry === 'function') this.runTask(s, entry);
        else this.runSlow(s, entry, this.takeCarriedError());
        return;
      }
      if (this.carried) {
        if (!this.span.add(entry, this.carriedStarted, this.carried)) {
          if (this.send()) return; // the span is not empty: adding to an empty one never fails
          continue;
        }
        this.carried = undefined;
        s.head++;
        continue;
      }
      if (!this.handle(entry)) return;
    }
  }

  /**
   * Whether the head event may go on the hot path now: the lane sends writes itself, the key is
   * not parked, the event is the aggregate's next (after the span's events), it did not fail.
   */
  private canJoin(s: KeyState, item: EventItem): boolean {
    const core = this.core;
    if (!core.fast || this.carriedError) return false;
    if (this.span.size > 0 && !this.carried && (!core.spanning || this.span.size >= MAX_SPAN))
      return false;
    if (core.parked.size > 0 && core.parked.has(s.key)) return false;
    if (!core.byAggregate) return true;
    const known = this.span.size > 0 ? this.span.lastVersion : s.version;
    return known < 0 || item.event.version === known + 1;
  }

  /** Runs the head event's handler; false when it went async (it calls `pump` when done). */
  private handle(item: EventItem): boolean {
    const started = performance.now();
    let r: Writes | Promise<Writes>;
    // Set before the call: an async handler reaches its first read (beforeRead) inside it.
    this.handling = true;
    try {
      r = this.core.o.handle!(item.event, this);
    } catch (e) {
      this.handling = false;
      this.carriedError = toError(e);
      return true;
    }
    if (isPromise(r)) {
      r.then(
        (writes) => this.handled(writes, started),
        (e: unknown) => this.handled(undefined, started, toError(e)),
      );
      return false;
    }
    this.handling = false;
    this.carried = r;
    this.carriedStarted = started;
    return true;
  }

  private handled(writes: Writes | undefined, started: number, error?: Error): void {
    this.handling = false;
    this.carried = writes;
    this.carriedStarted = started;
    this.carriedError = error;
    this.pump();
  }

  private takeCarriedError(): Error | undefined {
    const e = this.carriedError;
    this.carriedError = undefined;
    this.carried = undefined;
    return e;
  }

  beforeRead(): Promise<void> | undefined {
    if (!this.handling || this.span.size === 0) return undefined;
    if (this.reading) return this.reading.promise;
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.reading = { promise, resolve, reject };
    if (this.send()) return promise;
    this.reading = undefined; // nothing to write: finished at once
    return undefined;
  }

  /** Sends the span; false when it had nothing to write and finished at once. */
  private send(): boolean {
    const span = this.span;
    if (span.ops.length === 0) {
      this.finishSpan('applied');
      return false;
    }
    this.unanswered = span.ops.length;
    this.anyApplied = false;
    this.anyDuplicate = false;
    this.core.o.writer!.submit(this.core.o.module.name, span, this, ++this.ticket);
    return true;
  }

  written(ticket: number, _index: number, outcome: OpOutcome): void {
    if (ticket !== this.ticket) return;
    if (outcome === 'applied') this.anyApplied = true;
    else this.anyDuplicate = true;
    if (--this.unanswered > 0) return;
    if (this.span.size > 1 && this.anyDuplicate) this.fallBack(undefined);
    else {
      this.finishSpan(this.span.size > 1 || this.anyApplied ? 'applied' : 'duplicate');
      this.resume();
    }
  }

  failed(ticket: number, error: Error): void {
    if (ticket !== this.ticket) return;
    this.ticket++; // the rest of this submission's answers are stale
    this.fallBack(error);
  }

  /**
   * The span, event by event through the applier. A single event's failed write counts as its
   * first attempt, as it always did; a span's failure is no one event's.
   */
  private fallBack(error: Error | undefined): void {
    const items = this.span.items.splice(0);
    this.span.reset();
    const s = this.state!;
    const applier = this.core.applier;
    let left = items.length;
    void (async () => {
      for (const item of items) {
        if (this.core.stopped) return;
        const outcome =
          error && items.length === 1
            ? await applier.applyOne(item, s.key, error)
            : await applier.applyOne(item, s.key);
        left--;
        this.finish(s, item, outcome);
      }
    })().then(
      () => {
        this.core.settle(left); // dropped unfinished: the lane stopped
        this.resume();
      },
      (e: unknown) => this.crash(e, left),
    );
  }

  private finishSpan(outcome: Outcome): void {
    const { items, started } = this.span;
    const s = this.state!;
    const o = this.core.o;
    const now = o.onOutcome ? performance.now() : 0;
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      o.onOutcome?.(item.event, outcome, now - started[i]!);
      this.finish(s, item, outcome);
    }
    this.span.reset();
  }

  /** An event is durably finished (its outcome already reported). */
  private finish(s: KeyState, item: EventItem, outcome: Outcome): void {
    if (this.core.byAggregate && (outcome === 'applied' || outcome === 'duplicate')) {
      if (item.event.version > s.version) s.version = item.event.version;
    }
    if (item.seq !== undefined) this.core.o.onFinished?.(item.seq, outcome);
    item.done?.(outcome);
    this.core.settle();
  }

  /** After the span: a waiting read goes on (its handler then pumps), or the key does. */
  private resume(): void {
    const r = this.reading;
    if (r) {
      this.reading = undefined;
      r.resolve();
    } else if (!this.handling) this.pump();
  }

  /** The key's work failed for good: the lane fails first, then its `dropped` entries settle. */
  private crash(e: unknown, dropped: number): void {
    const err = toError(e);
    if (!(err instanceof StoppedError)) this.core.fail(err);
    if (dropped > 0) this.core.settle(dropped);
    const r = this.reading;
    if (r) {
      this.reading = undefined;
      r.reject(err);
    } else if (!this.handling) this.pump();
  }

  private dropSpan(): void {
    if (this.span.size === 0) return;
    this.core.settle(this.span.size);
    this.span.reset();
  }

  /** Duplicates, gaps, parked keys, failed handlers, and lanes without the hot path. */
  private runSlow(s: KeyState, item: EventItem, error: Error | undefined): void {
    s.head++;
    const applier = this.core.applier;
    const outcome = error
      ? applier.applyOne(item, s.key, error)
      : this.core.fast
        ? applier.applyEvent(item, s.key)
        : applier.run(item, s.key);
    outcome.then(
      (o) => {
        this.finish(s, item, o);
        this.pump();
      },
      (e: unknown) => this.crash(e, 1),
    );
  }

  private runTask(s: KeyState, task: Task): void {
    s.head++;
    task().then(
      () => {
        this.core.settle();
        this.pump();
      },
      (e: unknown) => this.crash(e, 1),
    );
  }

  /** Closes the current key; takes the next ready one, or hands the runner back. */
  private next(): boolean {
    this.core.table.close(this.state!);
    this.state = this.core.takeReady();
    if (this.state) return true;
    this.core.release(this);
    return false;
  }
}
