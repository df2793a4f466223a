import type { Db } from 'mongodb';
import type { ProjectorEvent } from '../events/types.js';
import type { Logger } from '../observability/logger.js';
import type { BatchWriter } from '../writer/batchWriter.js';
import type { Guard, Writes } from '../writer/intents.js';
import { createContextFactory, type ReactionServices, type ReadBarrier } from './context.js';
import type { Deadline, ModuleDefinition, PartitionInfo } from './types.js';

/**
 * Runs one module's handler for one event (or deadline). `handle` gives the writes the handler
 * described — synchronously when the handler is synchronous (no promise on the hot path) — for
 * the lane to send; `execute` also commits them as one unit through the batch writer and
 * resolves once they are durable: `applied` when at least one write changed something,
 * `duplicate` when every write had been applied before.
 */
export interface ModuleRunner {
  handle(event: ProjectorEvent, barrier?: ReadBarrier): Writes | Promise<Writes>;
  execute(event: ProjectorEvent): Promise<'applied' | 'duplicate'>;
  executeDeadline(deadline: Deadline): Promise<void>;
}

export interface RunnerOptions {
  db: Db;
  module: ModuleDefinition;
  writer: BatchWriter;
  settings: Readonly<Record<string, unknown>>;
  logger: Logger;
  signal: AbortSignal;
  now(): Date;
  physical?(collection: string): string;
  /** Bound on each MongoDB read of a handler (lib/timeout.ts). */
  operationTimeoutMs?: number;
  /** Absent in rebuild, replay and verify: reactions never run there (invariant 9). */
  reactions?: ReactionServices;
  /** The partition the handler runs in, asked per event (`ctx.partition`). */
  partition?(event: ProjectorEvent | undefined): PartitionInfo;
}

const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';

export function createModuleRunner(o: RunnerOptions): ModuleRunner {
  const { module } = o;
  const deps = {
    db: o.db,
    module,
    settings: o.settings,
    logger: o.logger.child({ module: module.name }),
    signal: o.signal,
    now: o.now,
    physical: o.physical ?? ((c: string) => c),
    ...(o.operationTimeoutMs === undefined ? {} : { operationTimeoutMs: o.operationTimeoutMs }),
    ...(o.reactions ? { reactions: o.reactions } : {}),
    ...(o.partition ? { partition: o.partition } : {}),
  };
  const contextFor = createContextFactory(deps);
  const byAggregate = module.orderingKey === undefined;
  const guardFor = (event: ProjectorEvent): Guard =>
    byAggregate
      ? { kind: 'version', aggregateId: event.aggregateId, version: event.version }
      : { kind: 'event', eventId: event.eventId };

  function handle(event: ProjectorEvent, barrier?: ReadBarrier): Writes | Promise<Writes> {
    const ctx = contextFor(event, guardFor(event), barrier);
    const r: unknown =
      module.kind === 'projection' ? module.apply(event, ctx) : module.react(event, ctx);
    return isThenable(r) ? Promise.resolve(r).then(() => ctx) : ctx;
  }

  return {
    handle,
    async execute(event) {
      const writes = await handle(event);
      const outcomes = await o.writer.commit(module.name, writes);
      return outcomes.length === 0 || outcomes.includes('applied') ? 'applied' : 'duplicate';
    },
    async executeDeadline(deadline) {
      if (module.kind !== 'reaction' || !module.onDeadline) return;
      const ctx = contextFor(undefined, { kind: 'event', eventId: `deadline:${deadline.id}` });
      await module.onDeadline(deadline, ctx);
      await o.writer.commit(module.name, ctx);
    },
  };
}
