import type { ModulePipeline } from '../dispatch/pipeline.js';
import type { ModuleDefinition } from '../modules/types.js';
import type { Slot } from '../partitions/slots.js';
import { HistoryLostError } from '../source/changeStream.js';
import { LeaseLostError } from '../writer/batchWriter.js';
import { catchUpModules } from './catchUpPhase.js';
import type { DaemonContext } from './context.js';
import { drainPipelines } from './drain.js';
import { followStream } from './followPhase.js';
import { buildPipelines } from './pipelines.js';
import { prepareModules } from './prepare.js';

/**
 * One epoch: plan the owned modules (rebuilding a bumped projection) → catch up the modules that
 * have no checkpoint → follow the change stream from the lowest position → drain on the way
 * out. 'again': plan a new epoch (ownership changed, a lease was lost, history was lost);
 * 'stopped': the daemon stops. A lost history resets every module's checkpoint so the next
 * epoch catches all of them up (invariant 5).
 */
export interface Epochs {
  run(): Promise<'stopped' | 'again'>;
  /** Ends the current epoch gracefully; the daemon then plans the next one. */
  replan(): void;
  /** The current epoch's pipelines (empty while standing by). */
  readonly pipelines: readonly ModulePipeline[];
}

export interface EpochOptions {
  modules: readonly ModuleDefinition[];
  ownership?: { owned(): ReadonlySet<string> };
  /** The daemon's own stop signal: aborted, every epoch ends 'stopped'. */
  stopped: AbortSignal;
  /** A module failed for good: the daemon stops with this error. */
  fail(err: Error): void;
}

export function createEpochs(c: DaemonContext, o: EpochOptions): Epochs {
  const { logger } = c;
  let pipelines: ModulePipeline[] = [];
  let epochAbort = new AbortController();
  let wake: (() => void) | undefined;
  const next = () => (o.stopped.aborted ? 'stopped' : 'again');

  function replan(): void {
    epochAbort.abort();
    wake?.();
  }

  /** The slots this instance owns now, with their modules, in module then partition order. */
  function ownedSlots(): { module: ModuleDefinition; slot: Slot }[] {
    const owned = o.ownership?.owned();
    return o.modules.flatMap((module) =>
      c.partitioning
        .slots([module])
        .filter((slot) => !owned || owned.has(slot.name))
        .map((slot) => ({ module, slot })),
    );
  }

  async function standBy(signal: AbortSignal): Promise<'stopped' | 'again'> {
    pipelines = [];
    logger.info('no module owned by this instance; standing by');
    await new Promise<void>((r) => {
      wake = r;
      if (signal.aborted) r();
    });
    wake = undefined;
    return next();
  }

  function onFatal(m: string, err: Error): void {
    if (err instanceof LeaseLostError) {
      logger.warn({ slot: m }, 'lease lost: handing the module over');
      replan();
    } else o.fail(new Error(`module ${m} failed: ${err.message}`, { cause: err }));
  }

  async function run(): Promise<'stopped' | 'again'> {
    epochAbort = new AbortController();
    const signal = epochAbort.signal;
    const slots = ownedSlots();
    if (slots.length === 0) return standBy(signal);
    let plan: Awaited<ReturnType<typeof prepareModules>>;
    try {
      plan = await prepareModules({
        db: c.db,
        config: c.config,
        checkpoints: c.checkpoints,
        upcasters: c.upcasters,
        logger,
        slots,
        signal,
        ...(c.hooks.canWrite ? { canWrite: c.hooks.canWrite } : {}),
        ...(c.splitRebuilds ? { rebuildSplit: (m) => c.splitRebuilds?.start(m) } : {}),
      });
    } catch (e) {
      // A version-bump rebuild whose lease was lost swapped nothing: hand over, plan again.
      if (!(e instanceof LeaseLostError)) throw e;
      logger.warn({ err: e }, 'lease lost during a rebuild: handing the module over');
      return next();
    }
    pipelines = await buildPipelines(plan, c, { signal, onFatal });
    try {
      await catchUpModules(
        pipelines.filter((p) => !p.joinedAt),
        signal,
        c,
      );
      if (!signal.aborted) await followStream(pipelines, signal, c);
      return next();
    } catch (e) {
      // A lane whose module lost its lease refuses new events: hand over and plan again.
      if (e instanceof LeaseLostError) return next();
      if (!(e instanceof HistoryLostError)) throw e;
      logger.warn(
        { err: e },
        'resume position lost from the oplog: catching up from event_store, then rejoining the live stream',
      );
      c.hooks.onRestart?.('history_lost');
      await drainPipelines(pipelines, c);
      for (const p of pipelines) await c.checkpoints.reset(p.slot.name, p.module.version);
      return 'again';
    } finally {
      await drainPipelines(pipelines, c);
    }
  }

  return {
    run,
    replan,
    get pipelines() {
      return pipelines;
    },
  };
}
