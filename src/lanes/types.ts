import type { ProjectorEvent, RawEventDocument } from '../events/types.js';
import type { Deadline, ModuleDefinition } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';
import type { DeadLetter, DeadLetterStore } from './deadLetters.js';

/** What became of an event in a lane; every outcome finishes it (the checkpoint may pass it). */
export type Outcome = 'applied' | 'duplicate' | 'dead_lettered' | 'waiting';

export interface EventItem {
  event: ProjectorEvent;
  raw: RawEventDocument;
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
  execute(event: ProjectorEvent): Promise<'applied' | 'duplicate'>;
  executeDeadline?(deadline: Deadline): Promise<void>;
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

/** Thrown into work the lane drops because it stopped; never a failure of the event. */
export class StoppedError extends Error {
  constructor() {
    super('lane stopped');
    this.name = 'StoppedError';
  }
}
