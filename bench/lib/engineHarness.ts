import type { Db } from 'mongodb';
import { toPosition } from '../../src/checkpoint/position.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { createDispatcher } from '../../src/dispatch/dispatcher.js';
import { createModulePipeline, type ModulePipeline } from '../../src/dispatch/pipeline.js';
import { createUpcasterRegistry, type Upcaster } from '../../src/dispatch/upcast.js';
import type { DaemonHooks } from '../../src/lifecycle/status.js';
import type { ModuleDefinition } from '../../src/modules/types.js';
import { metricsHooks } from '../../src/observability/daemonMetrics.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createBatchWriter } from '../../src/writer/batchWriter.js';
import type { BulkSink } from '../../src/writer/sink.js';
import type { MemoryEventLog } from './memoryEventLog.js';
import { createMemoryCheckpoints, createMemoryDeadLetters } from './memoryServices.js';
import type { StreamEvent } from './streamEvents.js';

/**
 * The daemon's live path without a server: the same factories `createDaemon` wires (module
 * pipelines = runner + lane + checkpointer, the dispatcher, one batch writer), fed by an
 * in-memory source and writing to an in-memory sink. The loop is the daemon's `follow()`:
 * number the event, hand it to the dispatcher (which waits when a lane is full), and at the
 * end drain the lanes, flush the writer and save the checkpoints — all inside the timed span.
 *
 * Events that reactions append are dispatched after the workload: their versions follow every
 * workload event of their aggregate (see memoryEventLog.ts), so they must come last.
 */
export interface EngineOptions {
  modules: readonly ModuleDefinition[];
  upcasters?: readonly Upcaster[];
  sink: BulkSink;
  /** Where handlers' reads go (a Db over the memory store); never called by write-only modules. */
  db: Db;
  log?: MemoryEventLog;
  /** Count outcomes into prom-client metrics, as `projectord run` does. */
  metrics?: boolean;
  config?: ConfigInput;
}

export interface EngineRun {
  /** Stream events dispatched (workload plus appended). */
  events: number;
  ms: number;
  /** Per module: outcomes of the events it handled. */
  outcomes: Record<string, Record<string, number>>;
  checkpointSaves: number;
  deadLetters: readonly string[];
  /** Every stream event, in the order dispatched (to replay the same stream later). */
  dispatched?: StreamEvent[];
}

export async function runEngine(
  workload: readonly StreamEvent[],
  o: EngineOptions & { record?: boolean },
): Promise<EngineRun> {
  const config = configSchema.parse(o.config ?? {});
  const logger = silentLogger();
  const abort = new AbortController();
  const checkpoints = createMemoryCheckpoints();
  const deadLetters = createMemoryDeadLetters();
  const outcomes: Record<string, Record<string, number>> = {};
  const hooks: DaemonHooks = o.metrics ? metricsHooks(createMetrics()) : {};
  let fatal: Error | undefined;
  const writer = createBatchWriter({
    sink: o.sink,
    maxBatchSize: config.writer.maxBatchSize,
    flushIntervalMs: config.writer.flushIntervalMs,
    logger,
  });
  const dispatcher = createDispatcher({
    upcasters: createUpcasterRegistry(o.upcasters ?? []),
    deadLetters,
    ...(hooks.onIgnored ? { onIgnored: hooks.onIgnored } : {}),
  });
  const pipelines: ModulePipeline[] = o.modules.map((module) => {
    const counts: Record<string, number> = (outcomes[module.name] = {});
    return createModulePipeline(module, undefined, {
      db: o.db,
      config,
      writer,
      checkpoints,
      deadLetters,
      parkedKeys: [],
      logger,
      signal: abort.signal,
      now: () => new Date(),
      ...(o.log ? { reactions: o.log.reactions } : {}),
      fetch: o.log?.fetch ?? {
        versions: () => Promise.resolve([]),
        bySourceId: () => Promise.resolve(undefined),
      },
      onOutcome(m, event, outcome, ms) {
        counts[outcome] = (counts[outcome] ?? 0) + 1;
        hooks.onOutcome?.(m, event, outcome, ms);
      },
      onFatal: (_m, err) => (fatal ??= err),
    });
  });
  const dispatched: StreamEvent[] | undefined = o.record ? [] : undefined;
  let seq = 0;
  const dispatch = async (s: StreamEvent) => {
    dispatched?.push(s);
    const position = toPosition(s.token, s.clusterTime);
    await dispatcher.dispatch(s.raw, pipelines, { seq: ++seq, position });
  };

  const started = performance.now();
  for (const s of workload) {
    o.log?.record(s.raw);
    await dispatch(s);
  }
  for (;;) {
    await Promise.all(pipelines.map((p) => p.lane.idle()));
    const more = o.log?.takeAppended() ?? [];
    if (more.length === 0) break;
    for (const s of more) await dispatch(s);
  }
  await writer.flush();
  for (const p of pipelines) await p.checkpointer.stop();
  const ms = performance.now() - started;
  abort.abort();
  await Promise.all(pipelines.map((p) => p.lane.stop()));
  if (fatal) throw fatal;
  return {
    events: seq,
    ms,
    outcomes,
    checkpointSaves: checkpoints.saves,
    deadLetters: deadLetters.entries,
    ...(dispatched ? { dispatched } : {}),
  };
}
