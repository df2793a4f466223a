import type { Collection, Db, Document } from 'mongodb';
import type { ProjectorEvent } from '../events/types.js';
import { ProjectordError } from '../lib/errors.js';
import { within } from '../lib/timeout.js';
import type { Logger } from '../observability/logger.js';
import {
  incrementOperation,
  insertOperation,
  upsertOperation,
  type BulkOp,
  type Guard,
  type ReadModelDoc,
  type Writes,
} from '../writer/intents.js';
import type {
  AppendResult,
  Deadline,
  GuardedUpdate,
  ModuleDefinition,
  NewEvent,
  PartitionInfo,
  ReactionContext,
  Scalar,
  StreamFilter,
} from './types.js';

/**
 * The context a handler receives for one event. Writes become intents collected in `intents`
 * (the runner commits them as one unit); reads go straight to MongoDB, which is consistent for
 * the handler's own ordering key because the previous event's writes are durable before this
 * one starts. Collection names are mapped (rebuilds write to shadows) and a module may only
 * touch the collections it declares.
 *
 * Hot path: everything that does not depend on the event (the declared set, mapped collection
 * handles, the logger) is built once per module by `createContextFactory`; an event costs one
 * small object, which is also its `Writes`: each write call builds its bulk operation at once.
 * Its methods live on a prototype: handlers call them as `ctx.upsert(…)` and must not detach
 * them from `ctx`.
 *
 * Reads wait for the `ReadBarrier` first: a lane holding the unsent writes of this key's earlier
 * events (a span) sends them and waits for them, so a read always sees every earlier event.
 */
export interface ReactionServices {
  append(cause: ProjectorEvent | undefined, module: string, e: NewEvent): Promise<AppendResult>;
  schedule(module: string, d: Deadline<object>): Promise<void>;
  cancel(module: string, id: string): Promise<void>;
  readStream(aggregateId: string, filter?: StreamFilter): Promise<ProjectorEvent[]>;
}

export interface ContextDeps {
  db: Db;
  module: ModuleDefinition;
  settings: Readonly<Record<string, unknown>>;
  logger: Logger;
  signal: AbortSignal;
  now(): Date;
  /** Bound on one read of a handler (lib/timeout.ts); 0 or absent = none. */
  operationTimeoutMs?: number;
  /** Physical collection for a declared one (identity when live). */
  physical(collection: string): string;
  reactions?: ReactionServices;
  /** The partition a handler runs in (for its event); absent: the whole module, fence 0. */
  partition?(event: ProjectorEvent | undefined): PartitionInfo;
}

export interface BuiltContext {
  ctx: ReactionContext;
  writes: Writes;
}

/** What a read waits for first: undefined = nothing unsent before it. */
export interface ReadBarrier {
  beforeRead(): Promise<void> | undefined;
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${what} must be a non-empty string, got ${typeof value}`);
  }
  return value;
}

interface Shared {
  deps: ContextDeps;
  name: string;
  collections: Map<string, { physical: string; handle: Collection<ReadModelDoc> }>;
}

function target(shared: Shared, c: string): { physical: string; handle: Collection<ReadModelDoc> } {
  const found = shared.collections.get(c);
  if (!found) {
    throw new ProjectordError(
      'MODULE_UNDECLARED_COLLECTION',
      `Module ${shared.name} used collection "${c}", which is not in its \`collections\`: declare it.`,
    );
  }
  return found;
}

const WHOLE_MODULE: PartitionInfo = Object.freeze({ index: 0, count: 1, fence: 0 });

export class EventContext implements ReactionContext, Writes {
  readonly collections: string[] = [];
  readonly ops: BulkOp[] = [];
  readonly moduleName: string;
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly settings: Readonly<Record<string, unknown>>;

  constructor(
    private readonly shared: Shared,
    private readonly event: ProjectorEvent | undefined,
    private readonly guard: Guard | undefined,
    private readonly barrier: ReadBarrier | undefined,
  ) {
    const { deps } = shared;
    this.moduleName = shared.name;
    this.logger = deps.logger;
    this.signal = deps.signal;
    this.settings = deps.settings;
  }

  now(): Date {
    return this.shared.deps.now();
  }

  get partition(): PartitionInfo {
    return this.shared.deps.partition?.(this.event) ?? WHOLE_MODULE;
  }

  /** A handler's read, bounded like every MongoDB wait a lane depends on (lib/timeout.ts). */
  private bounded<T>(read: () => Promise<T>, what: string): Promise<T> {
    const wait = this.barrier?.beforeRead();
    const ms = this.shared.deps.operationTimeoutMs ?? 0;
    if (!wait) return within(read(), ms, what);
    return wait.then(() => within(read(), ms, what));
  }

  private add(collection: string, op: BulkOp): void {
    this.collections.push(collection);
    this.ops.push(op);
  }

  private needGuard(op: string): Guard {
    if (!this.guard) throw new Error(`${op} needs an event (not available here)`);
    return this.guard;
  }

  async findOne<T extends Document = Document>(c: string, id: string): Promise<T | null> {
    const { handle } = target(this.shared, c);
    const filter = { _id: { $eq: requireString(id, 'findOne id') } };
    const doc = await this.bounded(() => handle.findOne(filter), `findOne in ${c}`);
    return doc as T | null;
  }

  async find<T extends Document = Document>(
    c: string,
    filter: Record<string, Scalar>,
    options: { limit?: number; sort?: Record<string, 1 | -1> } = {},
  ): Promise<T[]> {
    const safe: Document = {};
    for (const [k, v] of Object.entries(filter)) safe[k] = { $eq: v };
    let cursor = target(this.shared, c).handle.find(safe);
    if (options.sort) cursor = cursor.sort(options.sort);
    if (options.limit) cursor = cursor.limit(options.limit);
    const docs = await this.bounded(() => cursor.toArray(), `find in ${c}`);
    return docs as unknown as T[];
  }

  upsert(c: string, id: string, update: GuardedUpdate): void {
    const { physical } = target(this.shared, c);
    this.add(
      physical,
      upsertOperation(requireString(id, 'upsert id'), this.needGuard('upsert'), update),
    );
  }

  insertOnce(c: string, doc: Document & { _id: string }): void {
    const { physical } = target(this.shared, c);
    requireString(doc._id, 'insertOnce _id');
    this.add(physical, insertOperation(doc));
  }

  incrementOnce(c: string, id: string, inc: Record<string, number>, set?: Document): void {
    const { physical } = target(this.shared, c);
    const guard = this.needGuard('incrementOnce');
    this.add(physical, incrementOperation(requireString(id, 'incrementOnce id'), guard, inc, set));
  }

  private services(): ReactionServices {
    const r = this.shared.deps.reactions;
    if (!r) {
      throw new ProjectordError(
        'REACTIONS_DISABLED',
        `Module ${this.shared.name} tried to append or schedule where reactions do not run (rebuild, replay, verify).`,
      );
    }
    return r;
  }

  append(e: NewEvent): Promise<AppendResult> {
    return this.services().append(this.event, this.shared.name, e);
  }

  schedule<TPayload extends object>(d: Deadline<TPayload>): Promise<void> {
    return this.services().schedule(this.shared.name, d);
  }

  cancelDeadline(id: string): Promise<void> {
    return this.services().cancel(this.shared.name, id);
  }

  readStream(aggregateId: string, filter?: StreamFilter): Promise<ProjectorEvent[]> {
    return this.services().readStream(aggregateId, filter);
  }
}

export type ContextFactory = (
  event: ProjectorEvent | undefined,
  guard: Guard | undefined,
  barrier?: ReadBarrier,
) => EventContext;

/** Builds, once per module, what every event's context shares. */
export function createContextFactory(deps: ContextDeps): ContextFactory {
  const shared: Shared = { deps, name: deps.module.name, collections: new Map() };
  for (const c of deps.module.collections) {
    const physical = deps.physical(c);
    shared.collections.set(c, { physical, handle: deps.db.collection<ReadModelDoc>(physical) });
  }
  return (event, guard, barrier) => new EventContext(shared, event, guard, barrier);
}

/** One-off context (tests, tools); the runner uses a factory. */
export function buildContext(
  deps: ContextDeps,
  event: ProjectorEvent | undefined,
  guard: Guard | undefined,
): BuiltContext {
  const ctx = createContextFactory(deps)(event, guard);
  return { ctx, writes: ctx };
}
