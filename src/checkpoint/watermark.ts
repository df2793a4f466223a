/**
 * The low watermark of one module (DESIGN.md invariant 4): events are registered in stream
 * order with increasing sequence numbers and finish in any order; `position()` is the position
 * of the newest event such that it and every event registered before it have finished.
 * Events a module does not handle are registered already finished.
 */
export interface Watermark<P> {
  register(seq: number, position: P, finished: boolean): void;
  finish(seq: number): void;
  /** Newest fully finished position, or undefined when nothing has finished yet. */
  position(): P | undefined;
  /** The oldest registered event that has not finished (for lag). */
  oldestPending(): P | undefined;
  /** Finished events since the last `take()` (for "save every N events"). */
  take(): number;
  readonly pending: number;
  /** Entries held (unfinished events and the runs of finished ones between them). */
  readonly entries: number;
}

export function createWatermark<P>(): Watermark<P> {
  // Entries in registration order; the head is the oldest unfinished (or finished, not yet popped).
  const queue: { seq: number; position: P; done: boolean }[] = [];
  let head = 0;
  const index = new Map<number, { seq: number; position: P; done: boolean }>();
  let low: P | undefined;
  let lastSeq = -Infinity;
  let finishedSinceTake = 0;
  let pending = 0;

  function advance(): void {
    while (head < queue.length && queue[head]?.done) {
      const e = queue[head];
      if (e) {
        low = e.position;
        index.delete(e.seq);
      }
      head++;
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  }

  return {
    register(seq, position, finished) {
      if (seq <= lastSeq) throw new Error(`watermark: sequence ${seq} registered after ${lastSeq}`);
      lastSeq = seq;
      if (finished && head === queue.length) {
        low = position;
        return;
      }
      const last = queue[queue.length - 1];
      if (finished && last?.done) {
        // A run of finished events behind unfinished work only needs its newest position:
        // memory stays bounded by the unfinished events, whatever flows past meanwhile.
        last.seq = seq;
        last.position = position;
        return;
      }
      const entry = { seq, position, done: finished };
      queue.push(entry);
      if (!finished) {
        index.set(seq, entry);
        pending++;
      }
      advance();
    },
    finish(seq) {
      const entry = index.get(seq);
      if (!entry || entry.done) return;
      entry.done = true;
      pending--;
      finishedSinceTake++;
      advance();
    },
    position: () => low,
    oldestPending() {
      for (let i = head; i < queue.length; i++) {
        const e = queue[i];
        if (e && !e.done) return e.position;
      }
      return undefined;
    },
    take() {
      const n = finishedSinceTake;
      finishedSinceTake = 0;
      return n;
    },
    get pending() {
      return pending;
    },
    get entries() {
      return queue.length - head;
    },
  };
}
