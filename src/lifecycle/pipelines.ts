import type { ModuleMode } from '../checkpoint/store.js';
import { createModulePipeline, type ModulePipeline } from '../dispatch/pipeline.js';
import type { DaemonContext } from './context.js';
import type { PlannedSlot } from './prepare.js';
import type { ModuleStatus } from './status.js';

/** One epoch's slot pipelines (runner, lane, checkpointer each), built from the plan. */
export async function buildPipelines(
  plan: readonly PlannedSlot[],
  c: DaemonContext,
  epoch: { signal: AbortSignal; onFatal(slot: string, err: Error): void },
): Promise<ModulePipeline[]> {
  const pipelines: ModulePipeline[] = [];
  for (const { module, slot, position } of plan) {
    const parked = await c.deadLetters.openKeys(module.name);
    const router = c.partitioning.router(module);
    pipelines.push(
      createModulePipeline(module, position, {
        slot,
        router,
        fence: () => c.fence(slot.name),
        ...(c.hooks.canWrite ? { canWrite: c.hooks.canWrite } : {}),
        db: c.db,
        config: c.config,
        writer: c.writer,
        checkpoints: c.checkpoints,
        deadLetters: c.deadLetters,
        // Only this partition's parked keys: another partition's are another lane's.
        parkedKeys: [...parked].filter((k) => router.ofKey(k) === slot.partition),
        logger: c.logger,
        signal: epoch.signal,
        now: c.now,
        ...(c.reactions ? { reactions: c.reactions } : {}),
        fetch: c.fetcher,
        onOutcome: (_m, e, outcome, ms) => c.hooks.onOutcome?.(slot.name, e, outcome, ms),
        onFatal: (_m, err) => epoch.onFatal(slot.name, err),
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
  c.hooks.onModeChange?.(p.slot.name, mode);
  await c.checkpoints.setMode(p.slot.name, mode, p.module.version, c.config.instanceId);
}

export function pipelineStatus(p: ModulePipeline): ModuleStatus {
  return {
    module: p.module.name,
    slot: p.slot.name,
    partition: p.slot.partition,
    partitions: p.slot.count,
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
