import type { Db } from 'mongodb';
import { createCheckpointer, type Checkpointer } from '../checkpoint/checkpointer.js';
import { compareTimestamps, type Position } from '../checkpoint/position.js';
import type { CheckpointStore } from '../checkpoint/store.js';
import type { Config } from '../config/schema.js';
import type { ProjectorEvent, RawEventDocument } from '../events/types.js';
import type { DeadLetterStore } from '../lanes/deadLetters.js';
import { createLane, type Lane, type Outcome } from '../lanes/lane.js';
import type { ReactionServices } from '../modules/context.js';
import { createModuleRunner } from '../modules/runner.js';
import type { ModuleDefinition } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';
import { fencedCheckpoints } from '../partitions/fencedCheckpoints.js';
import {
  createPartitionRouter,
  slotOf,
  type PartitionRouter,
  type Slot,
} from '../partitions/slots.js';
import type { BatchWriter } from '../writer/batchWriter.js';

/**
 * Everything one slot (a module, or one partition of it: partitions/slots.ts) needs in one
 * epoch of the daemon: its runner, lane and checkpointer, and the position it joined the
 * stream at (events before it were already applied). The slot's name keys its checkpoint and
 * tags its writes (the writer fences them by the slot's lease).
 */
export interface ModulePipeline {
  module: ModuleDefinition;
  slot: Slot;
  /** Whether the event's ordering key falls in this slot's partition. */
  owns(event: ProjectorEvent): boolean;
  ownsKey(key: string): boolean;
  lane: Lane;
  checkpointer: Checkpointer;
  handles: ReadonlySet<string>;
  /** Whether a stream event at this position is new to the module. */
  wants(position: Position): boolean;
  joinedAt: Position | undefined;
  setJoined(position: Position): void;
}

export interface PipelineDeps {
  db: Db;
  config: Config;
  writer: BatchWriter;
  checkpoints: CheckpointStore;
  deadLetters: DeadLetterStore;
  parkedKeys: Iterable<string>;
  logger: Logger;
  signal: AbortSignal;
  now(): Date;
  reactions?: ReactionServices;
  fetch: {
    versions(
      aggregateId: string,
      from: number,
      to: number,
    ): Promise<{ event: ProjectorEvent; raw: RawEventDocument }[]>;
    bySourceId(id: unknown): Promise<{ event: ProjectorEvent; raw: RawEventDocument } | undefined>;
  };
  onOutcome?(module: string, event: ProjectorEvent, outcome: Outcome, ms: number): void;
  onFatal?(module: string, error: Error): void;
  /** The partition this pipeline runs (default: the whole module, one partition). */
  slot?: Slot;
  /** The module's router, shared by its slots (default: one of its own). */
  router?: PartitionRouter;
  /** Fencing token of the slot's lease now (for `ctx.partition`); default 0. */
  fence?(): number;
  /** Lease fencing of the slot's checkpoint saves, as of its writes (default: always). */
  canWrite?(slot: string): boolean;
}

export function createModulePipeline(
  module: ModuleDefinition,
  joinedAt: Position | undefined,
  d: PipelineDeps,
): ModulePipeline {
  const { config } = d;
  const slot = d.slot ?? slotOf(module.name, 0, 1);
  const router = d.router ?? createPartitionRouter(module, slot.count);
  // Writes are tagged with the slot, not the module: the writer's fencing asks for its lease.
  const writer: BatchWriter = {
    submit: (_module, writes, receiver, ticket) =>
      d.writer.submit(slot.name, writes, receiver, ticket),
    commit: (_module, writes) => d.writer.commit(slot.name, writes),
    flush: () => d.writer.flush(),
    get pendingOps() {
      return d.writer.pendingOps;
    },
  };
  const fence = d.fence ?? (() => 0);
  const runner = createModuleRunner({
    db: d.db,
    module,
    writer,
    partition: () => ({ index: slot.partition, count: slot.count, fence: fence() }),
    settings: { bank: config.bank, ...(config.modules.settings[module.name] ?? {}) },
    logger: d.logger,
    signal: d.signal,
    now: d.now,
    operationTimeoutMs: config.mongo.operationTimeoutMs,
    ...(module.kind === 'reaction' && d.reactions ? { reactions: d.reactions } : {}),
  });
  // A checkpoint is fenced like a write (partitions/fencedCheckpoints.ts).
  const store = fencedCheckpoints(d.checkpoints, d.canWrite);
  const checkpointer = createCheckpointer({
    module: slot.name,
    moduleVersion: module.version,
    instanceId: config.instanceId ?? 'unknown',
    store,
    everyEvents: config.checkpoint.everyEvents,
    everyMs: config.checkpoint.everyMs,
    logger: d.logger,
    ...(joinedAt ? { initial: joinedAt } : {}),
  });
  const lane = createLane({
    module,
    maxInFlight: config.lanes.maxInFlight,
    concurrency: config.lanes.concurrency,
    retry: config.retry,
    execute: (e) => runner.execute(e),
    handle: (e, barrier) => runner.handle(e, barrier),
    writer,
    spans: module.kind === 'projection',
    executeDeadline: (dl) => runner.executeDeadline(dl),
    fetchVersions: d.fetch.versions,
    fetchBySourceId: d.fetch.bySourceId,
    deadLetters: d.deadLetters,
    parkedKeys: d.parkedKeys,
    logger: d.logger,
    ...(d.onOutcome ? { onOutcome: (e, o, ms) => d.onOutcome?.(module.name, e, o, ms) } : {}),
    onFinished: (seq) => checkpointer.finish(seq),
    ...(d.onFatal ? { onFatal: (err) => d.onFatal?.(module.name, err) } : {}),
  });
  let joined = joinedAt;
  return {
    module,
    slot,
    owns: (event) => slot.count === 1 || router.ofEvent(event) === slot.partition,
    ownsKey: (key) => slot.count === 1 || router.ofKey(key) === slot.partition,
    lane,
    checkpointer,
    handles: new Set(module.handles),
    get joinedAt() {
      return joined;
    },
    setJoined(p) {
      joined = p;
    },
    wants(position) {
      if (!joined) return true;
      const c = compareTimestamps(position.clusterTime, joined.clusterTime);
      if (c !== 0) return c > 0;
      return !(joined.token && JSON.stringify(joined.token) === JSON.stringify(position.token));
    },
  };
}
