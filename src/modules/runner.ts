import type { Db } from 'mongodb';
import type { ProjectorEvent } from '../events/types.js';
import type { Logger } from '../observability/logger.js';
import type { BatchWriter } from '../writer/batchWriter.js';
import type { Guard } from '../writer/intents.js';
import { createContextFactory, type ReactionServices } from './context.js';
import type { Deadline, ModuleDefinition, PartitionInfo } from './types.js';

/**
 * Runs one module's handler for one event (or deadline) and commits the writes it described
 * as one unit through the batch writer. Resolves once they are durable: `applied` when at least
 * one write changed something, `duplicate` when every write had been applied before.
 */
export interface ModuleRunner {
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
  /** The partition the handler runs in, read per event (`ctx.partition`). */
  partition?(): PartitionInfo;
}

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
  const buildContext = createContextFactory(deps);
  const guardFor = (event: ProjectorEvent): Guard =>
    module.orderingKey === undefined
      ? { kind: 'version', aggregateId: event.aggregateId, version: event.version }
      : { kind: 'event', eventId: event.eventId };

  return {
    async execute(event) {
      const { ctx, intents } = buildContext(event, guardFor(event));
      if (module.kind === 'projection') await module.apply(event, ctx);
      else await module.react(event, ctx);
      const outcomes = await o.writer.commit(module.name, intents);
      return outcomes.length === 0 || outcomes.includes('applied') ? 'applied' : 'duplicate';
    },
    async executeDeadline(deadline) {
      if (module.kind !== 'reaction' || !module.onDeadline) return;
      const { ctx, intents } = buildContext(undefined, {
        kind: 'event',
        eventId: `deadline:${deadline.id}`,
      });
      await module.onDeadline(deadline, ctx);
      await o.writer.commit(module.name, intents);
    },
  };
}
