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
import type { BatchWriter } from '../writer/batchWriter.js';

/**
 * Everything one module needs in one epoch of the daemon: its runner, lane and checkpointer,
 * and the position it joined the stream at (events before it were already applied).
 */
export interface ModulePipeline {
  module: ModuleDefinition;
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
}

export function createModulePipeline(
  module: ModuleDefinition,
  joinedAt: Position | undefined,
  d: PipelineDeps,
): ModulePipeline {
  const { config } = d;
  const runner = createModuleRunner({
    db: d.db,
    module,
    writer: d.writer,
    settings: { bank: config.bank, ...(config.modules.settings[module.name] ?? {}) },
    logger: d.logger,
    signal: d.signal,
    now: d.now,
    operationTimeoutMs: config.mongo.operationTimeoutMs,
    ...(module.kind === 'reaction' && d.reactions ? { reactions: d.reactions } : {}),
  });
  const lane = createLane({
    module,
    maxInFlight: config.lanes.maxInFlight,
    concurrency: config.lanes.concurrency,
    retry: config.retry,
    execute: (e) => runner.execute(e),
    executeDeadline: (dl) => runner.executeDeadline(dl),
    fetchVersions: d.fetch.versions,
    fetchBySourceId: d.fetch.bySourceId,
    deadLetters: d.deadLetters,
    parkedKeys: d.parkedKeys,
    logger: d.logger,
    ...(d.onOutcome ? { onOutcome: (e, o, ms) => d.onOutcome?.(module.name, e, o, ms) } : {}),
    ...(d.onFatal ? { onFatal: (err) => d.onFatal?.(module.name, err) } : {}),
  });
  const checkpointer = createCheckpointer({
    module: module.name,
    moduleVersion: module.version,
    instanceId: config.instanceId ?? 'unknown',
    store: d.checkpoints,
    everyEvents: config.checkpoint.everyEvents,
    everyMs: config.checkpoint.everyMs,
    logger: d.logger,
    ...(joinedAt ? { initial: joinedAt } : {}),
  });
  let joined = joinedAt;
  return {
    module,
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
