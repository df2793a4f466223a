import type { Logger } from '../observability/logger.js';
import { toError } from '../lib/errors.js';
import { within } from '../lib/timeout.js';
import type { BulkOp, Writes } from './intents.js';
import type { BulkSink } from './sink.js';

/**
 * The batch writer: group commit of the writes of every lane. Operations wait at most
 * `flushIntervalMs` (or until `maxBatchSize` are pending) and are written as one unordered
 * bulkWrite per collection; while flushes are in flight the next batch fills up, so throughput
 * comes from batching, not from awaiting one write per event.
 *
 * `submit()` is the hot path: the operations are queued as they are and the receiver hears of
 * each one (`written`: `applied`, or `duplicate` for E11000 on a guarded op = already applied),
 * or of the submission's first real error (`failed`; the caller retries, every op is
 * idempotent). No promise and no closure per submission: the receiver is the caller's own
 * long-lived object, and the ticket tells its submissions apart. It never calls back
 * synchronously. `commit()` is the same as a promise.
 *
 * A batch the sink has not answered within `timeoutMs` fails with an OperationTimeoutError (an
 * infrastructure error, retried; see lib/timeout.ts): an unbounded wait would hold the event, its
 * lane and every drain behind it. Should the abandoned write land later, the guards make it a
 * no-op. `canWrite(module)` is checked just before a batch is sent (lease fencing): a module that
 * lost its lease writes nothing.
 */
export type OpOutcome = 'applied' | 'duplicate';

export interface WriteReceiver {
  written(ticket: number, index: number, outcome: OpOutcome): void;
  failed(ticket: number, error: Error): void;
}

export interface BatchWriter {
  submit(module: string, writes: Writes, receiver: WriteReceiver, ticket: number): void;
  /** Resolves with each op's outcome once all are durable; rejects with the first error. */
  commit(module: string, writes: Writes): Promise<OpOutcome[]>;
  /** Sends everything pending now and waits for all in-flight batches. */
  flush(): Promise<void>;
  readonly pendingOps: number;
}

export interface BatchWriterOptions {
  sink: BulkSink;
  maxBatchSize: number;
  flushIntervalMs: number;
  maxConcurrentFlushes?: number;
  /** Longest wait for one batch's answer; 0 = no limit. */
  timeoutMs?: number;
  canWrite?(module: string): boolean;
  logger: Logger;
}

export class WriteRejectedError extends Error {
  readonly code: number | undefined;
  constructor(message: string, code: number | undefined) {
    super(message);
    this.name = 'WriteRejectedError';
    this.code = code;
  }
}

export class LeaseLostError extends Error {
  constructor(module: string) {
    super(`module ${module} no longer holds its lease; its writes were not sent`);
    this.name = 'LeaseLostError';
  }
}

/** Queued operations as parallel arrays: one slot per op, no object per op. */
class Queue {
  ops: BulkOp[] = [];
  collections: string[] = [];
  modules: string[] = [];
  receivers: WriteReceiver[] = [];
  tickets: number[] = [];
  indexes: number[] = [];
  get length(): number {
    return this.ops.length;
  }
  /** Takes the first `n` slots out (all of them without copying when n covers the queue). */
  take(n: number): Queue {
    const out = new Queue();
    if (n >= this.ops.length) {
      Object.assign(out, this);
      Object.assign(this, new Queue());
      return out;
    }
    out.ops = this.ops.splice(0, n);
    out.collections = this.collections.splice(0, n);
    out.modules = this.modules.splice(0, n);
    out.receivers = this.receivers.splice(0, n);
    out.tickets = this.tickets.splice(0, n);
    out.indexes = this.indexes.splice(0, n);
    return out;
  }
}

export function createBatchWriter(o: BatchWriterOptions): BatchWriter {
  const pending = new Queue();
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const inFlight = new Set<Promise<void>>();
  const maxFlushes = o.maxConcurrentFlushes ?? 4;

  function schedule(): void {
    if (pending.length === 0 || timer || immediate) return;
    if (inFlight.size >= maxFlushes) return; // a finishing flush reschedules
    if (pending.length >= o.maxBatchSize || o.flushIntervalMs === 0) {
      immediate = setImmediate(() => {
        immediate = undefined;
        startFlush();
      });
    } else {
      timer = setTimeout(() => {
        timer = undefined;
        startFlush();
      }, o.flushIntervalMs);
    }
  }

  function startFlush(): void {
    if (pending.length === 0) return;
    const batch = pending.take(o.maxBatchSize);
    const p = send(batch).finally(() => {
      inFlight.delete(p);
      schedule();
    });
    inFlight.add(p);
    schedule();
  }

  /** Slots of the batch by collection, leaving out (and failing) fenced modules' slots. */
  function group(batch: Queue): Map<string, number[]> {
    const byCollection = new Map<string, number[]>();
    for (let i = 0; i < batch.length; i++) {
      const module = batch.modules[i]!;
      if (o.canWrite && !o.canWrite(module)) {
        batch.receivers[i]!.failed(batch.tickets[i]!, new LeaseLostError(module));
        continue;
      }
      const c = batch.collections[i]!;
      const list = byCollection.get(c);
      if (list) list.push(i);
      else byCollection.set(c, [i]);
    }
    return byCollection;
  }

  async function sendCollection(batch: Queue, collection: string, slots: number[]) {
    try {
      const { errors } = await within(
        o.sink.bulkWrite(
          collection,
          slots.map((i) => batch.ops[i]!),
        ),
        o.timeoutMs ?? 0,
        `bulkWrite of ${slots.length} ops to ${collection}`,
      );
      const failed = errors.length > 0 ? new Map(errors.map((e) => [e.index, e])) : undefined;
      for (let k = 0; k < slots.length; k++) {
        const i = slots[k]!;
        const receiver = batch.receivers[i]!;
        const ticket = batch.tickets[i]!;
        const err = failed?.get(k);
        if (!err) receiver.written(ticket, batch.indexes[i]!, 'applied');
        else if (err.code === 11000) receiver.written(ticket, batch.indexes[i]!, 'duplicate');
        else
          receiver.failed(
            ticket,
            new WriteRejectedError(`${collection}: ${err.message}`, err.code),
          );
      }
    } catch (e) {
      const err = toError(e);
      o.logger.debug({ err, collection, ops: slots.length }, 'batch failed');
      for (const i of slots) batch.receivers[i]!.failed(batch.tickets[i]!, err);
    }
  }

  async function send(batch: Queue): Promise<void> {
    await Promise.all([...group(batch)].map(([c, slots]) => sendCollection(batch, c, slots)));
  }

  function submit(module: string, writes: Writes, receiver: WriteReceiver, ticket: number): void {
    const { ops, collections } = writes;
    for (let i = 0; i < ops.length; i++) {
      pending.ops.push(ops[i]!);
      pending.collections.push(collections[i]!);
      pending.modules.push(module);
      pending.receivers.push(receiver);
      pending.tickets.push(ticket);
      pending.indexes.push(i);
    }
    schedule();
  }

  return {
    submit,
    commit(module, writes) {
      if (writes.ops.length === 0) return Promise.resolve([]);
      return new Promise<OpOutcome[]>((resolve, reject) => {
        submit(module, writes, new Commit(writes.ops.length, resolve, reject), 0);
      });
    },
    async flush() {
      if (timer) clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
      timer = undefined;
      immediate = undefined;
      while (pending.length > 0 || inFlight.size > 0) {
        while (pending.length > 0 && inFlight.size < maxFlushes) startFlush();
        if (timer) clearTimeout(timer);
        if (immediate) clearImmediate(immediate);
        timer = undefined;
        immediate = undefined;
        await Promise.race(inFlight);
      }
    },
    get pendingOps() {
      return pending.length;
    },
  };
}

/** One commit() call: settles once, when its last op is written or its first one fails. */
class Commit implements WriteReceiver {
  private readonly outcomes: OpOutcome[];
  private remaining: number;
  private settled = false;
  constructor(
    size: number,
    private readonly onDone: (o: OpOutcome[]) => void,
    private readonly onFail: (e: Error) => void,
  ) {
    this.outcomes = new Array<OpOutcome>(size);
    this.remaining = size;
  }
  written(_ticket: number, index: number, outcome: OpOutcome): void {
    this.outcomes[index] = outcome;
    if (--this.remaining === 0 && !this.settled) {
      this.settled = true;
      this.onDone(this.outcomes);
    }
  }
  failed(_ticket: number, e: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.onFail(e);
  }
}
