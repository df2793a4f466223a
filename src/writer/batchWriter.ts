import type { Logger } from '../observability/logger.js';
import { toError } from '../lib/errors.js';
import { within } from '../lib/timeout.js';
import { toBulkOperation, type WriteIntent } from './intents.js';
import type { BulkSink } from './sink.js';

/**
 * The batch writer: group commit of write intents from every lane. Intents wait at most
 * `flushIntervalMs` (or until `maxBatchSize` are pending) and are written as one unordered
 * bulkWrite per collection; while flushes are in flight the next batch fills up, so throughput
 * comes from batching, not from awaiting one write per event.
 *
 * `commit()` resolves when every intent of the call is durable: each as `applied` or
 * `duplicate` (E11000 on a guarded op = already applied). It rejects with the first real error
 * (the lane retries the whole event; every op is idempotent). A batch the sink has not answered
 * within `timeoutMs` fails with an OperationTimeoutError (an infrastructure error, retried; see
 * lib/timeout.ts): an unbounded wait would hold the event, its lane and every drain behind it.
 * Should the abandoned write land later, the guards make it a no-op. `canWrite(module)` is checked
 * just before a batch is sent (lease fencing): a module that lost its lease writes nothing.
 */
export type OpOutcome = 'applied' | 'duplicate';

export interface BatchWriter {
  commit(module: string, intents: readonly WriteIntent[]): Promise<OpOutcome[]>;
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

/** One commit() call: settles once, when its last intent is written or its first one fails. */
class Commit {
  readonly outcomes: OpOutcome[];
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
  resolve(index: number, outcome: OpOutcome): void {
    this.outcomes[index] = outcome;
    if (--this.remaining === 0 && !this.settled) {
      this.settled = true;
      this.onDone(this.outcomes);
    }
  }
  reject(e: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.onFail(e);
  }
}

interface Entry {
  module: string;
  intent: WriteIntent;
  commit: Commit;
  index: number;
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

export function createBatchWriter(o: BatchWriterOptions): BatchWriter {
  let pending: Entry[] = [];
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
    const batch = pending.slice(0, o.maxBatchSize);
    pending = pending.slice(batch.length);
    const p = send(batch).finally(() => {
      inFlight.delete(p);
      schedule();
    });
    inFlight.add(p);
    schedule();
  }

  async function send(batch: Entry[]): Promise<void> {
    const byCollection = new Map<string, Entry[]>();
    for (const e of batch) {
      if (o.canWrite && !o.canWrite(e.module)) {
        e.commit.reject(new LeaseLostError(e.module));
        continue;
      }
      const list = byCollection.get(e.intent.collection);
      if (list) list.push(e);
      else byCollection.set(e.intent.collection, [e]);
    }
    await Promise.all(
      [...byCollection].map(async ([collection, entries]) => {
        try {
          const { errors } = await within(
            o.sink.bulkWrite(
              collection,
              entries.map((e) => toBulkOperation(e.intent)),
            ),
            o.timeoutMs ?? 0,
            `bulkWrite of ${entries.length} ops to ${collection}`,
          );
          const failed = new Map(errors.map((err) => [err.index, err]));
          entries.forEach((e, i) => {
            const err = failed.get(i);
            if (!err) e.commit.resolve(e.index, 'applied');
            else if (err.code === 11000) e.commit.resolve(e.index, 'duplicate');
            else e.commit.reject(new WriteRejectedError(`${collection}: ${err.message}`, err.code));
          });
        } catch (e) {
          const err = toError(e);
          o.logger.debug({ err, collection, ops: entries.length }, 'batch failed');
          for (const entry of entries) entry.commit.reject(err);
        }
      }),
    );
  }

  return {
    commit(module, intents) {
      if (intents.length === 0) return Promise.resolve([]);
      return new Promise<OpOutcome[]>((resolve, reject) => {
        const commit = new Commit(intents.length, resolve, reject);
        intents.forEach((intent, index) => pending.push({ module, intent, commit, index }));
        schedule();
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
