import type { ChangeStream, ChangeStreamInsertDocument, Db, Document, Timestamp } from 'mongodb';
import { EVENT_STORE } from '../events/eventStore.js';
import type { RawEventDocument } from '../events/types.js';
import { ProjectordError, toError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';
import { toPosition, type Position, type ResumeToken } from '../checkpoint/position.js';
import { backoffDelay, sleep } from '../lanes/backoff.js';
import { within } from '../lib/timeout.js';
import { classifyError, fatalMessage } from './errors.js';

/**
 * The live source: one change stream on event_store (inserts only), pulled one change at a
 * time, so a consumer that stops pulling stops the stream (backpressure). Transient errors
 * reopen the stream after the last delivered position with backoff; a lost history throws
 * HistoryLostError (the daemon resyncs from event_store); errors that will not heal throw a
 * ProjectordError. While the store is quiet it yields `idle` items carrying the server's
 * post-batch resume token when there is one, so checkpoints never age out of the oplog.
 * A read or a close left unanswered past `operationTimeoutMs` counts as a dropped connection
 * (lib/timeout.ts): the stream is abandoned and reopened from the last delivered position.
 */
export type SourceItem =
  | { kind: 'event'; position: Position; raw: RawEventDocument }
  | { kind: 'idle'; position: Position | undefined };

export class HistoryLostError extends Error {
  constructor(cause: unknown) {
    super(`the stored resume position is no longer in the oplog: ${toError(cause).message}`, {
      cause,
    });
    this.name = 'HistoryLostError';
  }
}

export interface ChangeStreamSourceOptions {
  db: Db;
  start: Position | undefined;
  batchSize: number;
  maxAwaitTimeMs: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Bound on one read (beyond maxAwaitTimeMs) and on closing the stream; 0 = none. */
  operationTimeoutMs?: number;
  signal: AbortSignal;
  logger: Logger;
  onRestart?(reason: string): void;
  /** Called once the stream is open on the server (tests wait on it before inserting). */
  onOpen?(): void;
}

function openStream(
  db: Db,
  from: Position | undefined,
  o: ChangeStreamSourceOptions,
): ChangeStream {
  return db
    .collection(EVENT_STORE)
    .watch<Document, ChangeStreamInsertDocument>([{ $match: { operationType: 'insert' } }], {
      batchSize: o.batchSize,
      maxAwaitTimeMS: o.maxAwaitTimeMs,
      ...(from?.token
        ? { resumeAfter: from.token }
        : from
          ? { startAtOperationTime: from.clusterTime }
          : {}),
    });
}

/** Longest pause between empty answers of a server that does not wait for data. */
export const IDLE_PAUSE_MAX_MS = 200;

/**
 * The pause after the n-th empty answer in a row from a server that answered at once instead of
 * waiting `maxAwaitTimeMs` for data: 20 ms, doubling, at most IDLE_PAUSE_MAX_MS (and never more
 * than maxAwaitTimeMs). An event that arrives during a pause waits for its end, so a busy stream
 * (answers with data reset the count) keeps the short pause; an idle daemon polls 5 times a
 * second instead of 50.
 */
export function idlePauseMs(quickEmptiesInARow: number, maxAwaitTimeMs: number): number {
  const n = Math.max(1, Math.floor(quickEmptiesInARow));
  return Math.min(maxAwaitTimeMs, IDLE_PAUSE_MAX_MS, 20 * 2 ** Math.min(n - 1, 16));
}

export async function* changeStreamSource(
  o: ChangeStreamSourceOptions,
): AsyncGenerator<SourceItem> {
  let from = o.start;
  let lastClusterTime: Timestamp | undefined = from?.clusterTime;
  let failures = 0;
  const bound = o.operationTimeoutMs ?? 0;
  const readBound = bound > 0 ? bound + o.maxAwaitTimeMs : 0;
  while (!o.signal.aborted) {
    const stream = openStream(o.db, from, o);
    const closeOnAbort = () => void stream.close().catch(() => undefined);
    o.signal.addEventListener('abort', closeOnAbort, { once: true });
    try {
      let opened = false;
      let quickEmpties = 0;
      while (!o.signal.aborted) {
        const askedAt = performance.now();
        const change = (await within(
          stream.tryNext(),
          readBound,
          'change stream read',
        )) as ChangeStreamInsertDocument | null;
        if (!opened) {
          opened = true;
          o.onOpen?.();
        }
        failures = 0;
        if (change === null) {
          const token = stream.resumeToken;
          const idle =
            token &&
            lastClusterTime &&
            (!from?.token || JSON.stringify(token) !== JSON.stringify(from.token))
              ? toPosition(token, lastClusterTime)
              : undefined;
          yield { kind: 'idle', position: idle };
          // A server that honours maxAwaitTimeMS already waited; one that answers at once (the
          // embedded fallback) gets a pause so the loop does not spin, longer after each empty
          // answer in a row: each getMore there re-reads the whole oplog.
          if (performance.now() - askedAt < o.maxAwaitTimeMs / 2) {
            quickEmpties++;
            await sleep(idlePauseMs(quickEmpties, o.maxAwaitTimeMs), o.signal);
          } else quickEmpties = 0;
          continue;
        }
        quickEmpties = 0;
        const clusterTime = change.clusterTime ?? lastClusterTime;
        if (!clusterTime) throw new Error('change event without clusterTime');
        lastClusterTime = clusterTime;
        const position = toPosition(change._id as ResumeToken, clusterTime);
        from = position;
        yield { kind: 'event', position, raw: change.fullDocument };
      }
    } catch (e) {
      if (o.signal.aborted) break;
      const kind = classifyError(e);
      if (kind === 'historyLost') throw new HistoryLostError(e);
      if (kind === 'fatal') {
        throw new ProjectordError('SOURCE_FATAL', `${fatalMessage(e)} (${toError(e).message})`, {
          cause: e,
        });
      }
      failures++;
      const delay = backoffDelay(failures, o.retryBaseDelayMs, o.retryMaxDelayMs);
      o.logger.warn({ err: toError(e), delayMs: delay }, 'change stream interrupted; resuming');
      o.onRestart?.(kind);
      await sleep(delay, o.signal);
    } finally {
      o.signal.removeEventListener('abort', closeOnAbort);
      await within(stream.close(), bound, 'closing the change stream').catch(() => undefined);
    }
  }
}
