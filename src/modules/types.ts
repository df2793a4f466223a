import type { Logger } from '../observability/logger.js';
import type { EventData, ProjectorEvent } from '../events/types.js';

/**
 * The module API: what a user writes (DESIGN.md "Module API"). Handlers describe writes through
 * the context; the engine batches them (write intents) and makes them exactly-once:
 *  - `upsert` is guarded by the event's aggregate version (applies only if the stored `version`
 *    is lower, and stores the new one) — for documents that belong to one aggregate;
 *  - `insertOnce` is keyed by `_id` (a duplicate key means "already applied");
 *  - `incrementOnce` applies a counter change once per event, for documents shared by aggregates.
 * An event's writes are durable before the next event of the same ordering key runs, so
 * `findOne` in a handler sees everything earlier events of that key wrote.
 * Values are only ever data: keys starting with `$` or holding `.` are escaped by the writer.
 */
export type Scalar = string | number | boolean | Date | null;

/**
 * A document as handlers write and read it. Field values are `unknown`, not `any`: a handler
 * narrows what it reads (or names its shape with a type argument), so a typo or a wrong type is
 * a compile error rather than a runtime surprise.
 */
export type DocumentData = Record<string, unknown>;

export interface GuardedUpdate {
  set?: DocumentData;
  setOnInsert?: DocumentData;
  inc?: Record<string, number>;
  max?: DocumentData;
  min?: DocumentData;
  /** Appends to arrays (each value one element). */
  push?: DocumentData;
}

export interface ReadContext {
  /** Reads one of this module's own documents by `_id`. */
  findOne<T extends object = DocumentData>(collection: string, id: string): Promise<T | null>;
  /** Reads this module's own documents; `filter` values are matched as plain equality. */
  find<T extends object = DocumentData>(
    collection: string,
    filter: Record<string, Scalar>,
    options?: { limit?: number; sort?: Record<string, 1 | -1> },
  ): Promise<T[]>;
}

export interface WriteContext {
  upsert(collection: string, id: string, update: GuardedUpdate): void;
  insertOnce(collection: string, doc: DocumentData & { _id: string }): void;
  incrementOnce(
    collection: string,
    id: string,
    inc: Record<string, number>,
    set?: DocumentData,
  ): void;
}

/** Where a handler runs when its module is split into partitions (`modules.partitions`). */
export interface PartitionInfo {
  /** The partition of the event's ordering key: 0 … count − 1. */
  readonly index: number;
  readonly count: number;
  /**
   * Fencing token of the lease this instance holds on the partition: strictly larger for every
   * later owner, so a document stamped with it tells which ownership wrote it (audits). 0 where
   * no lease is held (rebuild, replay, verify, tests).
   */
  readonly fence: number;
}

export interface BaseContext extends ReadContext, WriteContext {
  readonly moduleName: string;
  /** The partition this handler runs in (index 0 of 1 for a module that is not split). */
  readonly partition?: PartitionInfo;
  readonly logger: Logger;
  /** Aborted when the daemon stops: long handlers should give up. */
  readonly signal: AbortSignal;
  /** The module's settings from the config (`modules.settings.<name>`), or {}. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** The daemon's clock (injectable in tests). */
  now(): Date;
}

export type ProjectionContext = BaseContext;

/** An event a reaction appends to event_store (the engine fills version, ids, metadata). */
export interface NewEvent<TData extends object = EventData> {
  aggregateId: string;
  aggregateType: string;
  eventType: string;
  eventVersion?: string;
  eventData: TData;
  /** Deterministic identity of this append (e.g. `${sagaId}:credit`): appending twice is a no-op. */
  idempotencyKey: string;
  correlationId?: string;
  /** Default: the id of the event being handled. Set it in `onDeadline`, where there is none. */
  causationId?: string;
}

export type AppendResult =
  | { ok: true; eventId: string; version: number; duplicate: boolean }
  | { ok: false; reason: string };

export interface Deadline<TPayload extends object = DocumentData> {
  /** Unique per module; scheduling the same id again replaces an unfired deadline. */
  id: string;
  /** The ordering key the deadline runs under (e.g. the saga id). */
  key: string;
  dueAt: Date;
  payload: TPayload;
}

/** Which events of a stream `readStream` returns; every given condition must hold. */
export interface StreamFilter {
  /** Only these event types. */
  types?: readonly string[];
  /**
   * Only events whose stored `eventData` has these top-level fields equal to these values
   * (plain equality; matched before upcasting, so name fields every schema version has).
   */
  data?: Readonly<Record<string, Scalar>>;
}

export interface ReactionContext extends BaseContext {
  /** The event that is being handled (for causation), if any. */
  append(event: NewEvent): Promise<AppendResult>;
  schedule<TPayload extends object>(deadline: Deadline<TPayload>): Promise<void>;
  cancelDeadline(id: string): Promise<void>;
  /**
   * Reads an aggregate's events from event_store, in version order (upcast). `filter` narrows
   * them on the server, so a long stream is not shipped to find a few events in it.
   */
  readStream(aggregateId: string, filter?: StreamFilter): Promise<ProjectorEvent[]>;
}

interface DefinitionBase<TType extends string> {
  /** Unique module name: what status, verify, rebuild and metrics call it. */
  name: string;
  /** Bump to rebuild a projection automatically on the next start. */
  version: number;
  handles: readonly TType[];
  /** Collections the module writes (rebuild and verify work on exactly these). */
  collections: readonly string[];
  /** Indexes to create at start-up, per collection. */
  indexes?: Readonly<Record<string, readonly { key: Record<string, 1 | -1>; unique?: boolean }[]>>;
  /**
   * The ordering key: events with the same key are handled one at a time, in arrival order.
   * Default: the aggregateId (and then gaps in `version` are repaired from event_store).
   */
  orderingKey?(event: ProjectorEvent<EventData, TType>): string;
  /** Fields left out when `verify` compares documents (bookkeeping timestamps). */
  verifyIgnore?: readonly string[];
}

export interface ProjectionDefinition<TType extends string = string> extends DefinitionBase<TType> {
  kind: 'projection';
  apply(event: ProjectorEvent<EventData, TType>, ctx: ProjectionContext): Promise<void> | void;
  react?: never;
  onDeadline?: never;
}

export interface ReactionDefinition<TType extends string = string> extends DefinitionBase<TType> {
  kind: 'reaction';
  react(event: ProjectorEvent<EventData, TType>, ctx: ReactionContext): Promise<void> | void;
  onDeadline?(deadline: Deadline, ctx: ReactionContext): Promise<void> | void;
  apply?: never;
}

export type ModuleDefinition = ProjectionDefinition | ReactionDefinition;

export function defineProjection<const TType extends string>(
  def: Omit<ProjectionDefinition<TType>, 'kind'>,
): ProjectionDefinition<TType> {
  return { ...def, kind: 'projection' };
}

export function defineReaction<const TType extends string>(
  def: Omit<ReactionDefinition<TType>, 'kind'>,
): ReactionDefinition<TType> {
  return { ...def, kind: 'reaction' };
}
