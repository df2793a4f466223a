import type { Db } from 'mongodb';
import { toPosition } from '../../src/checkpoint/position.js';
import { configSchema, type ConfigInput } from '../../src/config/schema.js';
import { createUpcasterRegistry, type Upcaster } from '../../src/dispatch/upcast.js';
import type { DaemonHooks } from '../../src/lifecycle/status.js';
import type { ModuleDefinition } from '../../src/modules/types.js';
import { metricsHooks } from '../../src/observability/daemonMetrics.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { createInProcessEngine } from '../../src/modules/testing/engine.js';
import type { BulkSink } from '../../src/writer/sink.js';
import type { MemoryEventLog } from './memoryEventLog.js';
import {
  createMemoryCheckpoints,
  createMemoryDeadLetters,
} from '../../src/modules/testing/memoryServices.js';
import type { StreamEvent } from './streamEvents.js';

/**
 * The daemon's live path without a server: the in-process engine (src/modules/testing/engine.ts:
 * the dispatcher, module pipelines and batch writer `createDaemon` wires), fed by an in-memory
 * source and writing to an in-memory sink. The loop is the daemon's `follow()`: number the
 * event, hand it to the dispatcher (which waits when a lane is full), and at the end drain the
 * lanes, flush the writer and save the checkpoints — all inside the timed span.
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
  const checkpoints = createMemoryCheckpoints();
  const deadLetters = createMemoryDeadLetters();
  const outcomes: Record<string, Record<string, number>> = {};
  const hooks: DaemonHooks = o.metrics ? metricsHooks(createMetrics()) : {};
  for (const m of o.modules) outcomes[m.name] = {};
  const engine = createInProcessEngine({
    modules: o.modules,
    upcasters: createUpcasterRegistry(o.upcasters ?? []),
    config,
    sink: o.sink,
    db: o.db,
    checkpoints,
    deadLetters,
    ...(o.log ? { reactions: o.log.reactions } : {}),
    fetch: o.log?.fetch ?? {
      versions: () => Promise.resolve([]),
      bySourceId: () => Promise.resolve(undefined),
    },
    logger: silentLogger(),
    now: () => new Date(),
    hooks: {
      ...(hooks.onIgnored ? { onIgnored: hooks.onIgnored } : {}),
      onOutcome(m, event, outcome, ms) {
        const counts = outcomes[m] ?? (outcomes[m] = {});
        counts[outcome] = (counts[outcome] ?? 0) + 1;
        hooks.onOutcome?.(m, event, outcome, ms);
      },
    },
  });
  const dispatched: StreamEvent[] | undefined = o.record ? [] : undefined;
  let seq = 0;
  // As the daemon's follow loop: a promise only when a lane is full.
  const dispatch = (s: StreamEvent) => {
    dispatched?.push(s);
    return engine.dispatch(s.raw, { seq: ++seq, position: toPosition(s.token, s.clusterTime) });
  };

  const started = performance.now();
  for (const s of workload) {
    o.log?.record(s.raw);
    const wait = dispatch(s);
    if (wait) await wait;
  }
  for (;;) {
    await engine.settle();
    const more = o.log?.takeAppended() ?? [];
    if (more.length === 0) break;
    for (const s of more) {
      const wait = dispatch(s);
      if (wait) await wait;
    }
  }
  await engine.saveCheckpoints();
  const ms = performance.now() - started;
  await engine.stop();
  return {
    events: seq,
    ms,
    outcomes,
    checkpointSaves: checkpoints.saves,
    deadLetters: deadLetters.entries,
    ...(dispatched ? { dispatched } : {}),
  };
}
