import type { Db } from 'mongodb';
import type { Position } from '../../checkpoint/position.js';
import type { CheckpointStore } from '../../checkpoint/store.js';
import type { Config } from '../../config/schema.js';
import { createDispatcher } from '../../dispatch/dispatcher.js';
import {
  createModulePipeline,
  type ModulePipeline,
  type PipelineDeps,
} from '../../dispatch/pipeline.js';
import type { UpcasterRegistry } from '../../dispatch/upcast.js';
import type { RawEventDocument } from '../../events/types.js';
import type { DeadLetterStore } from '../../lanes/deadLetters.js';
import type { DaemonHooks } from '../../lifecycle/status.js';
import type { Logger } from '../../observability/logger.js';
import { createBatchWriter } from '../../writer/batchWriter.js';
import type { BulkSink } from '../../writer/sink.js';
import type { ReactionServices } from '../context.js';
import type { Deadline, ModuleDefinition } from '../types.js';

/**
 * The daemon's event path without its source: the factories `createDaemon` wires — one
 * dispatcher (validation, upcasting), a pipeline per module (runner, lane, checkpointer) and
 * one batch writer — fed one raw event_store document at a time. The module test kit and the
 * in-process benchmarks run modules through it, so they run the daemon's own guards, batching,
 * ordering, retries and dead-lettering; only the stores behind it are chosen by the caller.
 * `dispatch` without a stream position is how the daemon's catch-up feeds events.
 */
export interface InProcessEngine {
  readonly pipelines: readonly ModulePipeline[];
  /** Undefined: dispatched, every lane had room; a promise: wait for it before the next one. */
  dispatch(
    raw: RawEventDocument,
    stream?: { seq: number; position: Position },
  ): Promise<void> | undefined;
  /** Waits until every lane is idle, then until every write is durable. */
  settle(): Promise<void>;
  /** Runs a due deadline in its module's lane, as the daemon's scheduler does. */
  fireDeadline(module: string, deadline: Deadline): Promise<void>;
  /** Saves every module's checkpoint (the daemon does it on a graceful stop). */
  saveCheckpoints(): Promise<void>;
  /** Stops the lanes; rejects with the first fatal module error, if any. */
  stop(): Promise<void>;
}

export interface InProcessEngineOptions {
  modules: readonly ModuleDefinition[];
  upcasters: UpcasterRegistry;
  config: Config;
  sink: BulkSink;
  /** Where handlers' reads go. */
  db: Db;
  checkpoints: CheckpointStore;
  deadLetters: DeadLetterStore;
  reactions?: ReactionServices;
  fetch: PipelineDeps['fetch'];
  logger: Logger;
  now(): Date;
  hooks?: Pick<DaemonHooks, 'onOutcome' | 'onIgnored'>;
}

export function createInProcessEngine(o: InProcessEngineOptions): InProcessEngine {
  const abort = new AbortController();
  let fatal: Error | undefined;
  const writer = createBatchWriter({
    sink: o.sink,
    maxBatchSize: o.config.writer.maxBatchSize,
    flushIntervalMs: o.config.writer.flushIntervalMs,
    logger: o.logger,
  });
  const dispatcher = createDispatcher({
    upcasters: o.upcasters,
    deadLetters: o.deadLetters,
    ...(o.hooks?.onIgnored ? { onIgnored: o.hooks.onIgnored } : {}),
  });
  const pipelines = o.modules.map((module) =>
    createModulePipeline(module, undefined, {
      db: o.db,
      config: o.config,
      writer,
      checkpoints: o.checkpoints,
      deadLetters: o.deadLetters,
      parkedKeys: [],
      logger: o.logger,
      signal: abort.signal,
      now: o.now,
      ...(o.reactions ? { reactions: o.reactions } : {}),
      fetch: o.fetch,
      ...(o.hooks?.onOutcome ? { onOutcome: o.hooks.onOutcome } : {}),
      onFatal: (_m, err) => (fatal ??= err),
    }),
  );

  return {
    pipelines,
    dispatch: (raw, stream) => dispatcher.dispatch(raw, pipelines, stream),
    async settle() {
      await Promise.all(pipelines.map((p) => p.lane.idle()));
      await writer.flush();
      if (fatal) throw fatal;
    },
    fireDeadline(module, deadline) {
      const p = pipelines.find((x) => x.module.name === module);
      if (!p) return Promise.reject(new Error(`module ${module} is not running here`));
      return p.lane.pushDeadline(deadline);
    },
    async saveCheckpoints() {
      for (const p of pipelines) await p.checkpointer.stop();
    },
    async stop() {
      abort.abort();
      await Promise.all(pipelines.map((p) => p.lane.stop()));
      if (fatal) throw fatal;
    },
  };
}
