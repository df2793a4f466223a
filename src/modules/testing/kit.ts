import type { Document } from 'mongodb';
import { loadConfig } from '../../config/load.js';
import type { ConfigInput } from '../../config/schema.js';
import { prepareEvent } from '../../dispatch/prepare.js';
import { createUpcasterRegistry, type Upcaster } from '../../dispatch/upcast.js';
import type { ProjectorEvent } from '../../events/types.js';
import { silentLogger } from '../../observability/logger.js';
import { createDeadlineScheduler } from '../../reactions/scheduler.js';
import { toModuleDefinition, toUpcasters } from '../guard.js';
import type { Deadline, ModuleDefinition } from '../types.js';
import { createInProcessEngine } from './engine.js';
import { createMemoryBackend, createMongoBackend } from './kitBackends.js';
import { DeadLetterError, type TestDeadLetter } from './kitErrors.js';
import { createMemoryCheckpoints, createMemoryDeadLetters } from './memoryServices.js';

/**
 * The module test kit (`projectord/testing`; DESIGN.md "Module test kit"): runs modules over a
 * list of events the way the daemon does — the loader's checks of the definitions, envelope
 * validation, upcasters, per-key ordering and gap repair, retries and dead-lettering, batched
 * guarded writes, reactions' appends (dispatched after the events, as the stream would deliver
 * them) and durable deadlines fired by the daemon's scheduler — and hands back what ended up in
 * the stores. In memory by default; against a MongoDB server with `mongoUri` (a fresh database,
 * dropped on close). The clock stands still unless moved with `advance`.
 */
export interface ModuleTestOptions {
  /** Upcasters, as an upcasters file exports them. */
  upcasters?: readonly Upcaster[];
  /** Configuration, as in a config file (validated the same way): `modules.settings`, `bank`, … */
  config?: ConfigInput;
  /** Where the clock starts (ctx.now(), appends, deadlines). Default: when the kit is made. */
  now?: Date;
  /** Run against this MongoDB server instead of in memory. */
  mongoUri?: string;
  /** The database to use there (kept on close); default a fresh one, dropped on close. */
  dbName?: string;
  /**
   * What a dead letter does: `throw` (default) makes `run` reject with a DeadLetterError
   * carrying the error the daemon would have stored; `return` lists it in the result.
   */
  deadLetters?: 'throw' | 'return';
}

/** An event as a command side stores it; every field may be anything (the kit validates). */
export type TestEvent = { [K in keyof ProjectorEvent]?: unknown } & Record<string, unknown>;

export interface ScheduledDeadline extends Deadline {
  module: string;
  status: 'pending' | 'firing' | 'fired' | 'cancelled';
}

export interface ModuleTestResult {
  /** Every collection the modules declare, its documents as stored, sorted by `_id`. */
  docs: Record<string, Document[]>;
  /** Events the reactions appended, in order, as modules see them. */
  appended: ProjectorEvent[];
  /** Every deadline the reactions scheduled, with its status. */
  deadlines: ScheduledDeadline[];
  /** What the daemon would have written to projector_dead_letters. */
  deadLetters: TestDeadLetter[];
}

export interface ModuleTest {
  /** Feeds events (in stream order) and waits until everything they caused is done. */
  run(events: readonly TestEvent[]): Promise<ModuleTestResult>;
  /** Moves the clock on and fires every deadline due by then (and what they cause). */
  advance(ms: number): Promise<ModuleTestResult>;
  now(): Date;
  result(): Promise<ModuleTestResult>;
  /** Stops the engine and releases the backend (drops a fresh database). */
  close(): Promise<void>;
}

function definitions(modules: ModuleDefinition | readonly ModuleDefinition[]): ModuleDefinition[] {
  const list = Array.isArray(modules) ? modules : [modules as ModuleDefinition];
  return list.map((m, i) => toModuleDefinition(m, `given to the test kit (#${i + 1})`));
}

export async function testModules(
  modules: ModuleDefinition | readonly ModuleDefinition[],
  options: ModuleTestOptions = {},
): Promise<ModuleTest> {
  const defs = definitions(modules);
  const upcasters = createUpcasterRegistry(toUpcasters(options.upcasters ?? [], 'upcasters'));
  // Retries as the daemon makes them, without its waits between them.
  const config = loadConfig({
    env: {},
    flags: {
      ...options.config,
      retry: { baseDelayMs: 1, maxDelayMs: 5, ...options.config?.retry },
    },
  });
  let time = (options.now ?? new Date()).getTime();
  const now = () => new Date(time);
  const backend = options.mongoUri
    ? await createMongoBackend({
        upcasters,
        now,
        uri: options.mongoUri,
        ...(options.dbName ? { dbName: options.dbName } : {}),
      })
    : createMemoryBackend({ upcasters, now });
  const deadLetters = createMemoryDeadLetters();
  const logger = silentLogger();
  const engine = createInProcessEngine({
    modules: defs,
    upcasters,
    config,
    sink: backend.sink,
    db: backend.db,
    checkpoints: createMemoryCheckpoints(),
    deadLetters,
    reactions: backend.reactions,
    fetch: backend.fetch,
    logger,
    now,
  });
  const scheduler = createDeadlineScheduler({
    db: backend.db,
    store: backend.deadlines,
    now,
    pollMs: 1000,
    modules: defs.filter((m) => m.kind === 'reaction').map((m) => m.name),
    fire: (module, deadline) => engine.fireDeadline(module, deadline),
    logger,
  });

  /** Settles, then dispatches what reactions appended, until nothing more comes. */
  async function drain(): Promise<void> {
    for (;;) {
      await engine.settle();
      const more = await backend.takeAppended();
      if (more.length === 0) return;
      for (const raw of more) await engine.dispatch(raw);
    }
  }

  async function result(): Promise<ModuleTestResult> {
    const docs: Record<string, Document[]> = {};
    for (const m of defs) for (const c of m.collections) docs[c] ??= await backend.docs(c);
    const appended = (await backend.appended()).flatMap((raw) => {
      const v = prepareEvent(raw, upcasters);
      return v.ok ? [v.event] : [];
    });
    const deadlines = (await backend.scheduled()).map((d): ScheduledDeadline => ({
      module: d.module,
      id: d.id,
      key: d.key,
      dueAt: d.dueAt,
      payload: d.payload,
      status: d.status,
    }));
    return { docs, appended, deadlines, deadLetters: deadLetters.recorded.map((d) => ({ ...d })) };
  }

  async function step(work: () => Promise<void>): Promise<ModuleTestResult> {
    const before = deadLetters.recorded.length;
    await work();
    await drain();
    const fresh = deadLetters.recorded.slice(before);
    if (fresh.length > 0 && (options.deadLetters ?? 'throw') === 'throw') {
      throw new DeadLetterError(fresh);
    }
    return result();
  }

  return {
    run: (events) =>
      step(async () => {
        const stored = await backend.insert(events);
        for (const raw of stored) await engine.dispatch(raw);
      }),
    advance: (ms) =>
      step(async () => {
        time += ms;
        await drain();
        while ((await scheduler.pollOnce()) > 0) await drain();
      }),
    now,
    result,
    async close() {
      try {
        await engine.stop();
      } finally {
        await backend.close();
      }
    },
  };
}

/** One-shot: runs the modules over the events, closes, and returns what they wrote. */
export async function runModule(
  modules: ModuleDefinition | readonly ModuleDefinition[],
  events: readonly TestEvent[],
  options: ModuleTestOptions = {},
): Promise<ModuleTestResult> {
  const kit = await testModules(modules, options);
  try {
    return await kit.run(events);
  } finally {
    await kit.close();
  }
}
