import type { Db, Document } from 'mongodb';
import type { ProjectorEvent } from '../events/types.js';
import { ProjectordError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Guard, ReadModelDoc, WriteIntent } from '../writer/intents.js';
import type {
  AppendResult,
  BaseContext,
  Deadline,
  ModuleDefinition,
  NewEvent,
  ReactionContext,
  Scalar,
} from './types.js';

/**
 * Builds the context a handler receives for one event. Writes become intents collected in
 * `intents` (the runner commits them as one unit); reads go straight to MongoDB, which is
 * consistent for the handler's own ordering key because the previous event's writes are
 * durable before this one starts. Collection names are mapped (rebuilds write to shadows) and
 * a module may only touch the collections it declares.
 */
export interface ReactionServices {
  append(cause: ProjectorEvent | undefined, module: string, e: NewEvent): Promise<AppendResult>;
  schedule(module: string, d: Deadline): Promise<void>;
  cancel(module: string, id: string): Promise<void>;
  readStream(aggregateId: string): Promise<ProjectorEvent[]>;
}

export interface ContextDeps {
  db: Db;
  module: ModuleDefinition;
  settings: Readonly<Record<string, unknown>>;
  logger: Logger;
  signal: AbortSignal;
  now(): Date;
  /** Physical collection for a declared one (identity when live). */
  physical(collection: string): string;
  reactions?: ReactionServices;
}

export interface BuiltContext {
  ctx: ReactionContext;
  intents: WriteIntent[];
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${what} must be a non-empty string, got ${typeof value}`);
  }
  return value;
}

export function buildContext(
  deps: ContextDeps,
  event: ProjectorEvent | undefined,
  guard: Guard | undefined,
): BuiltContext {
  const intents: WriteIntent[] = [];
  const declared = new Set(deps.module.collections);
  const name = deps.module.name;
  const coll = (c: string) => {
    if (!declared.has(c)) {
      throw new ProjectordError(
        'MODULE_UNDECLARED_COLLECTION',
        `Module ${name} used collection "${c}", which is not in its \`collections\`: declare it.`,
      );
    }
    return deps.db.collection<ReadModelDoc>(deps.physical(c));
  };
  const needGuard = (op: string) => {
    if (!guard) throw new Error(`${op} needs an event (not available in a deadline handler)`);
    return guard;
  };

  const base: BaseContext = {
    moduleName: name,
    logger: deps.logger,
    signal: deps.signal,
    settings: deps.settings,
    now: deps.now,
    async findOne<T extends Document = Document>(c: string, id: string) {
      const doc = await coll(c).findOne({ _id: { $eq: requireString(id, 'findOne id') } });
      return doc as T | null;
    },
    async find<T extends Document = Document>(
      c: string,
      filter: Record<string, Scalar>,
      options: { limit?: number; sort?: Record<string, 1 | -1> } = {},
    ) {
      const safe: Document = {};
      for (const [k, v] of Object.entries(filter)) safe[k] = { $eq: v };
      let cursor = coll(c).find(safe);
      if (options.sort) cursor = cursor.sort(options.sort);
      if (options.limit) cursor = cursor.limit(options.limit);
      return (await cursor.toArray()) as unknown as T[];
    },
    upsert(c, id, update) {
      coll(c);
      const g = needGuard('upsert');
      intents.push({
        kind: 'upsert',
        collection: deps.physical(c),
        id: requireString(id, 'upsert id'),
        guard: g,
        update,
      });
    },
    insertOnce(c, doc) {
      coll(c);
      intents.push({
        kind: 'insertOnce',
        collection: deps.physical(c),
        doc: { ...doc, _id: requireString(doc._id, 'insertOnce _id') },
      });
    },
    incrementOnce(c, id, inc, set) {
      coll(c);
      const g = needGuard('incrementOnce');
      intents.push({
        kind: 'incrementOnce',
        collection: deps.physical(c),
        id: requireString(id, 'incrementOnce id'),
        guard: g,
        inc,
        ...(set === undefined ? {} : { set }),
      });
    },
  };

  const noReactions = (): never => {
    throw new ProjectordError(
      'REACTIONS_DISABLED',
      `Module ${name} tried to append or schedule where reactions do not run (rebuild, replay, verify).`,
    );
  };
  const r = deps.reactions;
  const ctx: ReactionContext = {
    ...base,
    append: (e) => (r ? r.append(event, name, e) : noReactions()),
    schedule: (d) => (r ? r.schedule(name, d) : noReactions()),
    cancelDeadline: (id) => (r ? r.cancel(name, id) : noReactions()),
    readStream: (aggregateId) => (r ? r.readStream(aggregateId) : noReactions()),
  };
  return { ctx, intents };
}
