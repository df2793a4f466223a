import type { ChangeStream, Db, Document, Timestamp } from 'mongodb';
import { EVENT_STORE } from '../events/eventStore.js';
import type { RawEventDocument } from '../events/types.js';
import { ProjectordError, toError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';
import {
  clusterTimeOfToken,
  samePosition,
  toPosition,
  type Position,
} from '../checkpoint/position.js';
import { backoffDelay, sleep } from '../lanes/backoff.js';
import { within } from '../lib/timeout.js';
import { classifyError, fatalMessage } from './errors.js';
import {
  isTooLarge,
  positionOfChange,
  readInsertedDocument,
  streamPipeline,
  type StreamChange,
} from './streamEvents.js';

/**
 * The live source: one change stream on event_store (inserts only), pulled one change at a
 * time, so a consumer that stops pulling stops the stream (backpressure). Transient errors
 * reopen the stream after the last delivered position with backoff; a lost history throws
 * HistoryLostError (the daemon resyncs from event_store); errors that will not heal throw a
 * ProjectordError: at once when the server says so (a fatal code, the
 * NonResumableChangeStreamError label), else after STUCK_AFTER failures in a row at the same
 * position. While the store is quiet it yields `idle` items carrying the server's post-batch
 * resume token, placed at the cluster time inside the token, so checkpoints never age out of the
 * oplog. An `invalidate` (event_store dropped or renamed) and an event over 16 MB are handled in
 * streamEvents.ts. A read or a close left unanswered past `operationTimeoutMs` counts as a
 * dropped connection (lib/timeout.ts): the stream is abandoned and reopened from the last
 * delivered position.
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

/** Failures in a row at one position, of errors that are not the network's, before giving up. */
export const STUCK_AFTER = 5;

/**
 * A stored token resumes with `startAfter`: the same as `resumeAfter` for an event's token, and
 * the only one of the two that accepts the token of an invalidate (MongoDB 4.2+).
 */
function openStream(
  db: Db,
  from: Position | undefined,
  o: ChangeStreamSourceOptions,
  slim: boolean,
): ChangeStream<Document, StreamChange> {
  return db.collection(EVENT_STORE).watch<Document, StreamChange>(streamPipeline(slim), {
    batchSize: slim ? 1 : o.batchSize,
    maxAwaitTimeMS: o.maxAwaitTimeMs,
    ...(from?.token
      ? { startAfter: from.token }
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

/**
 * The idle position after an empty answer: the stream's post-batch token at its own cluster time
 * (clusterTimeOfToken). Only a server whose tokens carry no readable time falls back to the last
 * event's time. Nothing when the token is the position already delivered.
 */
export function idlePosition(
  token: Document | null | undefined,
  from: Position | undefined,
  lastClusterTime: Timestamp | undefined,
): Position | undefined {
  if (!token) return undefined;
  const at = clusterTimeOfToken(token) ?? lastClusterTime;
  if (!at) return undefined;
  const position = toPosition(token, at);
  return from && samePosition(position, from) ? undefined : position;
}

export async function* changeStreamSource(
  o: ChangeStreamSourceOptions,
): AsyncGenerator<SourceItem> {
  let from = o.start;
  let lastClusterTime: Timestamp | undefined = from?.clusterTime;
  let failures = 0;
  // Failures in a row at one position that the network does not explain (STUCK_AFTER).
  let stuck = 0;
  // Set after a 10334: the next stream reads one event without its document.
  let slim = false;
  const bound = o.operationTimeoutMs ?? 0;
  const readBound = bound > 0 ? bound + o.maxAwaitTimeMs : 0;
  while (!o.signal.aborted) {
    const stream = openStream(o.db, from, o, slim);
    const closeOnAbort = () => void stream.close().catch(() => undefined);
    o.signal.addEventListener('abort', closeOnAbort, { once: true });
    try {
      let opened = false;
      let quickEmpties = 0;
      while (!o.signal.aborted) {
        const askedAt = performance.now();
        const change = await within(stream.tryNext(), readBound, 'change stream read');
        if (!opened) {
          opened = true;
          o.onOpen?.();
        }
        failures = 0;
        if (change === null) {
          yield {
            kind: 'idle',
            position: idlePosition(stream.resumeToken as Document | null, from, lastClusterTime),
          };
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
        stuck = 0;
        const position = positionOfChange(change, lastClusterTime);
        if (!position) throw new Error('change event without clusterTime');
        lastClusterTime = position.clusterTime;
        from = position;
        if (change.operationType === 'invalidate') {
          o.logger.warn(
            { clusterTime: position.clusterTime },
            'event_store was dropped or renamed (the change stream was invalidated): following ' +
              'the event_store written next. If it was restored or replaced, rebuild the projections.',
          );
          o.onRestart?.('invalidated');
          yield { kind: 'idle', position };
          break;
        }
        if (change.operationType !== 'insert') continue;
        const raw = slim ? await readInsertedDocument(o.db, change) : change.fullDocument;
        if (raw) yield { kind: 'event', position, raw: raw };
        else yield { kind: 'idle', position };
        if (slim) {
          slim = false;
          break; // back to a stream with documents, after the large event
        }
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
      if (kind !== 'infrastructure') {
        stuck++;
        if (stuck >= STUCK_AFTER) throw stuckError(e, from);
        if (isTooLarge(e) && !slim) {
          slim = true;
          o.logger.warn(
            { err: toError(e) },
            'a change event exceeds 16 MB: reading that one event from event_store by _id',
          );
          continue;
        }
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

function stuckError(e: unknown, at: Position | undefined): ProjectordError {
  const where = at ? `cluster time ${at.clusterTime.t}.${at.clusterTime.i}` : 'its start';
  return new ProjectordError(
    'SOURCE_STUCK',
    `The change stream on ${EVENT_STORE} failed ${STUCK_AFTER} times in a row at ${where} with ` +
      `an error that waiting has not fixed: ${toError(e).message}. projectord stopped instead ` +
      'of retrying for ever; see docs/OPERATIONS.md "What projectord needs from a deployment".',
    { cause: e },
  );
}
