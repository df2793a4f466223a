import type { Document } from 'mongodb';
import type { EventData, ProjectorEvent } from '../../src/events/types.js';
import type {
  AppendResult,
  Deadline,
  GuardedUpdate,
  NewEvent,
  ReactionContext,
  ReactionDefinition,
  Scalar,
} from '../../src/modules/types.js';
import { matchesStreamFilter } from '../../src/lifecycle/fetcher.js';
import { silentLogger } from '../../src/observability/logger.js';
import { reactionEventId } from '../../src/reactions/append.js';

/**
 * An in-memory world for unit tests of reaction logic (never a mock of the MongoDB driver): an
 * event store, module collections, durable deadlines and a settable clock, with the engine's
 * contract from src/modules/types.ts, src/modules/context.ts and src/writer/intents.ts:
 *  - writes are intents applied after the handler returns (a throwing handler writes nothing);
 *  - guards: a module without `orderingKey` guards upserts by aggregate version; one with an
 *    ordering key, and every deadline handler, guards by the event (deadline) id, so each write
 *    applies once per event — and only one upsert per document and event lands;
 *  - appends are immediate, with eventId = reactionEventId(module, idempotencyKey): a repeat is
 *    `duplicate`; `contend` makes appends fail like a store that other writers keep winning;
 *  - a deadline fires once: firing and fired ones are not revived, pending ones are replaced;
 *    a failing deadline handler leaves it pending (the scheduler would fire it again).
 */
type Doc = Record<string, unknown> & { _id: string };
type Guard = { kind: 'version'; version: number } | { kind: 'event'; eventId: string };
type Write =
  | { op: 'upsert'; collection: string; id: string; update: GuardedUpdate }
  | { op: 'insertOnce'; collection: string; doc: Doc };

export interface MemoryDeadline {
  module: string;
  deadline: Deadline;
  status: 'pending' | 'firing' | 'fired' | 'cancelled';
}

export interface MemoryWorld {
  now(): Date;
  advance(ms: number): void;
  /** A command-side write: the next version of the aggregate, at the world's time. */
  write(
    aggregateId: string,
    eventType: string,
    eventData: EventData,
    over?: Partial<ProjectorEvent>,
  ): ProjectorEvent;
  /**
   * Runs one module's react for one event and commits its writes; `crashBeforeCommit` drops
   * them, as a crash after the handler's appends but before its batch was written would.
   */
  deliver(
    module: ReactionDefinition,
    event: ProjectorEvent,
    opts?: { crashBeforeCommit?: boolean },
  ): Promise<void>;
  /** Delivers every stored event each module handles and has not seen, until none is left. */
  pump(modules: readonly ReactionDefinition[]): Promise<void>;
  /**
   * Fires the module's pending deadlines due by now (oldest first); returns how many.
   * `crashBeforeCommit` drops their writes and leaves them pending, as a crash mid-fire would.
   */
  fireDue(module: ReactionDefinition, opts?: { crashBeforeCommit?: boolean }): Promise<number>;
  contend(when: (e: NewEvent) => boolean): void;
  readonly events: readonly ProjectorEvent[];
  ofType(eventType: string): ProjectorEvent[];
  get(collection: string, id: string): Doc | undefined;
  all(collection: string): Doc[];
  deadline(module: string, id: string): MemoryDeadline | undefined;
  deadlines(module: string): MemoryDeadline[];
}

const copy = <T>(v: T): T => structuredClone(v);

/** Fields the engine owns in guarded documents: a module's own value for them is dropped. */
function withoutReserved(fields: Document | undefined, guard: Guard): Document {
  const out = { ...copy(fields ?? {}) };
  delete out._id;
  delete out._appliedEvents;
  if (guard.kind === 'version') delete out.version;
  return out;
}

function applyUpdate(doc: Doc, u: GuardedUpdate, inserting: boolean, guard: Guard): void {
  for (const op of ['max', 'min', 'push'] as const) {
    if (u[op] !== undefined) throw new Error(`memory reaction context: ${op} not modelled`);
  }
  if (inserting) Object.assign(doc, withoutReserved(u.setOnInsert, guard));
  Object.assign(doc, withoutReserved(u.set, guard));
  for (const [k, n] of Object.entries(u.inc ?? {})) doc[k] = Number(doc[k] ?? 0) + n;
}

export function createMemoryWorld(
  opts: { start?: Date; settings?: Readonly<Record<string, unknown>> } = {},
): MemoryWorld {
  let time = (opts.start ?? new Date('2025-03-01T10:00:00Z')).getTime();
  const events: ProjectorEvent[] = [];
  const data = new Map<string, Map<string, Doc>>();
  const deadlines = new Map<string, MemoryDeadline>();
  const delivered = new Map<string, Set<string>>();
  let contended: (e: NewEvent) => boolean = () => false;
  const now = () => new Date(time);
  const coll = (name: string) => {
    let c = data.get(name);
    if (!c) data.set(name, (c = new Map<string, Doc>()));
    return c;
  };
  const stream = (aggregateId: string) => events.filter((e) => e.aggregateId === aggregateId);

  function store(e: Omit<ProjectorEvent, 'version'>): ProjectorEvent {
    const event = { ...e, version: stream(e.aggregateId).length + 1 };
    events.push(event);
    return event;
  }

  function commit(module: ReactionDefinition, w: Write, guard: Guard): void {
    const own = module.collections.includes(w.collection);
    if (!own) throw new Error(`${module.name} wrote to undeclared collection ${w.collection}`);
    const c = coll(w.collection);
    if (w.op === 'insertOnce') {
      if (!c.has(w.doc._id)) c.set(w.doc._id, copy(w.doc));
      return;
    }
    const existing = c.get(w.id);
    const doc: Doc = existing ? copy(existing) : { _id: w.id };
    if (guard.kind === 'version') {
      if (existing && !(typeof existing.version === 'number' && existing.version < guard.version)) {
        return;
      }
      applyUpdate(doc, w.update, !existing, guard);
      doc.version = guard.version;
    } else {
      const applied = (doc._appliedEvents ?? []) as string[];
      if (applied.includes(guard.eventId)) return;
      applyUpdate(doc, w.update, !existing, guard);
      doc._appliedEvents = [...applied, guard.eventId];
    }
    c.set(w.id, doc);
  }

  function context(module: ReactionDefinition, cause: ProjectorEvent | undefined, writes: Write[]) {
    const read = (collection: string) => {
      if (!module.collections.includes(collection)) {
        throw new Error(`${module.name} read undeclared collection ${collection}`);
      }
      return [...coll(collection).values()];
    };
    const ctx: ReactionContext = {
      moduleName: module.name,
      logger: silentLogger(),
      signal: new AbortController().signal,
      settings: opts.settings ?? {},
      now,
      findOne<T extends Document = Document>(collection: string, id: string) {
        const doc = read(collection).find((d) => d._id === id);
        return Promise.resolve(doc ? (copy(doc) as unknown as T) : null);
      },
      find<T extends Document = Document>(collection: string, filter: Record<string, Scalar>) {
        const docs = read(collection).filter((d) =>
          Object.entries(filter).every(([k, v]) => d[k] === v),
        );
        return Promise.resolve(docs.map(copy) as unknown as T[]);
      },
      upsert: (collection, id, update) =>
        void writes.push({ op: 'upsert', collection, id, update: copy(update) }),
      insertOnce: (collection, doc) =>
        void writes.push({ op: 'insertOnce', collection, doc: copy(doc) }),
      incrementOnce(collection, id, inc, set) {
        writes.push({ op: 'upsert', collection, id, update: { inc, ...(set ? { set } : {}) } });
      },
      append(e): Promise<AppendResult> {
        const eventId = reactionEventId(module.name, e.idempotencyKey);
        const existing = events.find((x) => x.eventId === eventId);
        if (existing) {
          return Promise.resolve({ ok: true, eventId, version: existing.version, duplicate: true });
        }
        if (contended(e)) return Promise.resolve({ ok: false, reason: 'contended' });
        const correlationId = e.correlationId ?? cause?.eventMetadata.correlationId;
        const stored = store({
          eventId,
          aggregateId: e.aggregateId,
          aggregateType: e.aggregateType,
          eventType: e.eventType,
          eventVersion: e.eventVersion ?? '1.0',
          eventTimestamp: now(),
          eventData: copy(e.eventData),
          eventMetadata: {
            producedBy: `projectord:${module.name}`,
            ...(correlationId === undefined ? {} : { correlationId }),
            ...(cause ? { causationId: cause.eventId } : {}),
          },
        });
        return Promise.resolve({ ok: true, eventId, version: stored.version, duplicate: false });
      },
      schedule(d) {
        const key = `${module.name}:${d.id}`;
        const prev = deadlines.get(key);
        if (!prev || prev.status === 'pending' || prev.status === 'cancelled') {
          deadlines.set(key, {
            module: module.name,
            deadline: copy(d) as unknown as Deadline,
            status: 'pending',
          });
        }
        return Promise.resolve();
      },
      cancelDeadline(id) {
        const d = deadlines.get(`${module.name}:${id}`);
        if (d?.status === 'pending') d.status = 'cancelled';
        return Promise.resolve();
      },
      readStream: (aggregateId, filter) =>
        Promise.resolve(
          copy(
            stream(aggregateId).filter((e) =>
              matchesStreamFilter(e.eventType, e.eventData, filter),
            ),
          ),
        ),
    };
    return ctx;
  }

  async function run(
    module: ReactionDefinition,
    cause: ProjectorEvent | undefined,
    guard: Guard,
    handler: (ctx: ReactionContext) => Promise<void> | void,
    land = true,
  ): Promise<void> {
    const writes: Write[] = [];
    await handler(context(module, cause, writes));
    if (land) for (const w of writes) commit(module, w, guard);
  }

  const world: MemoryWorld = {
    now,
    advance: (ms) => void (time += ms),
    write(aggregateId, eventType, eventData, over = {}) {
      return store({
        eventId: `${aggregateId}-${eventType}-${events.length + 1}`,
        aggregateId,
        aggregateType: 'BankAccount',
        eventType,
        eventVersion: '2.0',
        eventTimestamp: now(),
        eventData,
        eventMetadata: {},
        ...over,
      });
    },
    async deliver(module, event, o = {}) {
      const seen = delivered.get(module.name) ?? new Set<string>();
      delivered.set(module.name, seen);
      seen.add(event.eventId);
      const guard: Guard =
        module.orderingKey === undefined
          ? { kind: 'version', version: event.version }
          : { kind: 'event', eventId: event.eventId };
      await run(module, event, guard, (ctx) => module.react(event, ctx), !o.crashBeforeCommit);
    },
    async pump(modules) {
      for (let progressed = true; progressed;) {
        progressed = false;
        for (const m of modules) {
          const seen = delivered.get(m.name);
          const next = events.find((e) => m.handles.includes(e.eventType) && !seen?.has(e.eventId));
          if (next) {
            await world.deliver(m, next);
            progressed = true;
          }
        }
      }
    },
    async fireDue(module, o = {}) {
      const due = world
        .deadlines(module.name)
        .filter((d) => d.status === 'pending' && d.deadline.dueAt.getTime() <= time)
        .sort((a, b) => a.deadline.dueAt.getTime() - b.deadline.dueAt.getTime());
      for (const d of due) {
        d.status = 'firing';
        const guard: Guard = { kind: 'event', eventId: `deadline:${d.deadline.id}` };
        try {
          const fire = (ctx: ReactionContext) => module.onDeadline?.(copy(d.deadline), ctx);
          await run(module, undefined, guard, fire, !o.crashBeforeCommit);
        } catch (e) {
          d.status = 'pending'; // the scheduler would fire it again later
          throw e;
        }
        d.status = o.crashBeforeCommit ? 'pending' : 'fired';
      }
      return due.length;
    },
    contend: (when) => void (contended = when),
    events,
    ofType: (eventType) => events.filter((e) => e.eventType === eventType),
    get: (collection, id) => {
      const d = data.get(collection)?.get(id);
      return d ? copy(d) : undefined;
    },
    all: (collection) => [...(data.get(collection)?.values() ?? [])].map(copy),
    deadline: (module, id) => deadlines.get(`${module}:${id}`),
    deadlines: (module) => [...deadlines.values()].filter((d) => d.module === module),
  };
  return world;
}
