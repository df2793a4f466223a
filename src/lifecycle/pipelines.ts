import type { Position } from '../checkpoint/position.js';
import type { ModuleMode } from '../checkpoint/store.js';
import { createModulePipeline, type ModulePipeline } from '../dispatch/pipeline.js';
import type { ModuleDefinition } from '../modules/types.js';
import type { DaemonContext } from './context.js';
import type { ModuleStatus } from './status.js';

/** One epoch's module pipelines (runner, lane, checkpointer each), built from the plan. */
export async function buildPipelines(
  plan: readonly { module: ModuleDefinition; position: Position | undefined }[],
  c: DaemonContext,
  epoch: { signal: AbortSignal; onFatal(module: string, err: Error): void },
): Promise<ModulePipeline[]> {
  const pipelines: ModulePipeline[] = [];
  for (const { module, position } of plan) {
    pipelines.push(
      createModulePipeline(module, position, {
        db: c.db,
        config: c.config,
        writer: c.writer,
        checkpoints: c.checkpoints,
        deadLetters: c.deadLetters,
        parkedKeys: await c.deadLetters.openKeys(module.name),
        logger: c.logger,
        signal: epoch.signal,
        now: c.now,
        ...(c.reactions ? { reactions: c.reactions } : {}),
        fetch: c.fetcher,
        onOutcome: (m, e, outcome, ms) => c.hooks.onOutcome?.(m, e, outcome, ms),
        onFatal: epoch.onFatal,
      }),
    );
  }
  return pipelines;
}

/** Records a module's mode in its checkpointer, for observers, and in its checkpoint. */
export async function setMode(
  p: ModulePipeline,
  mode: ModuleMode,
  c: Pick<DaemonContext, 'checkpoints' | 'config' | 'hooks'>,
): Promise<void> {
  p.checkpointer.mode = mode;
  c.hooks.onModeChange?.(p.module.name, mode);
  await c.checkpoints.setMode(p.module.name, mode, p.module.version, c.config.instanceId);
}

export function pipelineStatus(p: ModulePipeline): ModuleStatus {
  return {
    module: p.module.name,
    kind: p.module.kind,
    mode: p.checkpointer.mode,
    pending: p.checkpointer.pending,
    inFlight: p.lane.inFlight,
    activeKeys: p.lane.activeKeys,
    parkedKeys: p.lane.parked.size,
    lastProgressAt: p.lane.lastProgressAt,
    lastEventAt: p.checkpointer.lastEventAt,
    lastSavedAt: p.checkpointer.lastSavedAt,
    oldestPendingAt: p.checkpointer.oldestPendingAt(),
  };
}
