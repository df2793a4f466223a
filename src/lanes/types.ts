import type { ProjectorEvent, RawEventDocument } from '../events/types.js';
import type { ReadBarrier } from '../modules/context.js';
import type { Deadline, ModuleDefinition } from '../modules/types.js';
import type { BatchWriter } from '../writer/batchWriter.js';
import type { Writes } from '../writer/intents.js';
import type { Logger } from '../observability/logger.js';
import type { DeadLetter, DeadLetterStore } from './deadLetters.js';

/** What became of an event in a lane; every outcome finishes it (the checkpoint may pass it). */
export type Outcome = 'applied' | 'duplicate' | 'dead_lettered' | 'waiting';

export interface EventItem {
  event: ProjectorEvent;
  raw: RawEventDocument;
  /** The stream sequence number, handed to `onFinished` (no closure per event). */
  seq?: number;
  /** Called once the item is durably finished (any outcome). Not called when stopped first. */
  done?(outcome: Outcome): void;
}

/** Reads of event_store the lane needs: gap repair and an operator's retry. */
export interface LaneFetch {
  fetchVersions(
    aggregateId: string,
    from: number,
    to: number,
  ): Promise<{ event: ProjectorEvent; raw: RawEventDocument }[]>;
  fetchBySourceId(
    sourceId: unknown,
  ): Promise<{ event: ProjectorEvent; raw: RawEventDocument } | undefined>;
}

export interface LaneRetry {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface LaneOptions extends LaneFetch {
  module: ModuleDefinition;
  maxInFlight: number;
  concurrency: number;
  retry: LaneRetry;
  /** Runs the handler and commits its writes: the path of every event not on the hot path. */
  execute(event: ProjectorEvent): Promise<'applied' | 'duplicate'>;
  /**
   * The hot path: the handler's writes (synchronously for a synchronous handler), which the lane
   * sends itself through `writer`. Without both, every event takes `execute`.
   */
  handle?(event: ProjectorEvent, barrier: ReadBarrier): Writes | Promise<Writes>;
  writer?: Pick<BatchWriter, 'submit'>;
  /** Consecutive events of an aggregate share one write per document (write-only projections). */
  spans?: boolean;
  executeDeadline?(deadline: Deadline): Promise<void>;
  deadLetters?: DeadLetterStore;
  parkedKeys?: Iterable<string>;
  strict?: boolean;
  logger: Logger;
  onOutcome?(event: ProjectorEvent, outcome: Outcome, ms: number): void;
  /** An item with a `seq` is durably finished (any outcome). */
  onFinished?(seq: number, outcome: Outcome): void;
  /** Strict mode: the event whose error stops the lane, before the lane fails. */
  onFailed?(event: ProjectorEvent, error: Error): void;
  onFatal?(error: Error): void;
}

export interface Lane {
  /**
   * Accepts an item. Undefined: accepted, with room for more; a promise: wait for it before the
   * next push (the lane is full: backpressure), or the lane failed or stopped (it rejects).
   */
  push(item: EventItem): Promise<void> | undefined;
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

/** Thrown into work the lane drops because it stopped; never a failure of the event. */
export class StoppedError extends Error {
  constructor() {
    super('lane stopped');
    this.name = 'StoppedError';
  }
}
