import type { ModulePipeline } from '../dispatch/pipeline.js';
import type { ModuleDefinition } from '../modules/types.js';
import type { Slot } from '../partitions/slots.js';
import { HistoryLostError } from '../source/changeStream.js';
import { LeaseLostError } from '../writer/batchWriter.js';
import { catchUpModules } from './catchUpPhase.js';
import type { DaemonContext } from './context.js';
import { drainPipelines } from './drain.js';
import { createFollower } from './followPhase.js';
import { createSlotChanges, type SlotChanges } from './slotChanges.js';
import { buildPipelines, setMode } from './pipelines.js';
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
  /**
   * The owned slots changed: while following the stream, only the slots that moved stop or
   * start (slotChanges.ts); before that (planning, catching up, standing by) it replans.
   */
  rebalance(): void;
  /** Settles once no pipeline of `slot` runs here: drained, flushed, checkpoint saved. */
  whenStopped(slot: string): Promise<void>;
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
  let changes: SlotChanges | undefined;
  let routed: () => readonly ModulePipeline[] = () => pipelines;
  const stopWaiters = new Map<string, (() => void)[]>();
  const next = () => (o.stopped.aborted ? 'stopped' : 'again');

  function replan(): void {
    epochAbort.abort();
    wake?.();
  }

  /** Slots of this epoch being planned, built or caught up before the stream starts. */
  let starting = new Set<string>();

  function running(): ModulePipeline[] {
    return [...routed(), ...(changes?.attaching() ?? [])];
  }

  /** Whether anything of the slot may still run or write here. */
  function busy(slot: string): boolean {
    return (
      starting.has(slot) ||
      running().some((p) => p.slot.name === slot) ||
      (changes?.attachingSlots().includes(slot) ?? false)
    );
  }

  function stopped(slot: string): void {
    if (busy(slot)) return;
    for (const w of stopWaiters.get(slot) ?? []) w();
    stopWaiters.delete(slot);
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
      if (changes) changes.lost(m);
      else replan();
    } else o.fail(new Error(`module ${m} failed: ${err.message}`, { cause: err }));
  }

  async function run(): Promise<'stopped' | 'again'> {
    epochAbort = new AbortController();
    const signal = epochAbort.signal;
    const slots = ownedSlots();
    if (slots.length === 0) return standBy(signal);
    starting = new Set(slots.map((s) => s.slot.name));
    try {
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
      await catchUpModules(
        pipelines.filter((p) => !p.joinedAt),
        signal,
        c,
      );
      if (signal.aborted) return next();
      for (const p of pipelines) await setMode(p, 'live', c);
      starting = new Set();
      const follower = createFollower(pipelines, signal, c);
      routed = () => follower.pipelines;
      changes = createSlotChanges({
        c,
        follower,
        signal,
        owned: ownedSlots,
        onFatal,
        stopped,
        replan,
      });
      // Ownership may have moved while this epoch was getting ready.
      void changes.reconcile();
      await follower.run();
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
      for (const p of await finish()) await c.checkpoints.reset(p.slot.name, p.module.version);
      return 'again';
    } finally {
      await finish();
    }
  }

  /**
   * Ends the epoch's work: attachments stop, every lane drains and saves its checkpoint.
   * Returns the pipelines it drained (none the second time).
   */
  async function finish(): Promise<ModulePipeline[]> {
    epochAbort.abort();
    await changes?.settle();
    const drained = running();
    await drainPipelines(drained, c);
    changes = undefined;
    pipelines = [];
    routed = () => pipelines;
    const planned = [...starting];
    starting = new Set();
    for (const slot of new Set([...planned, ...drained.map((p) => p.slot.name)])) stopped(slot);
    return drained;
  }

  return {
    run,
    replan,
    rebalance() {
      if (changes) void changes.reconcile();
      else replan();
    },
    whenStopped(slot) {
      if (!busy(slot)) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const list = stopWaiters.get(slot) ?? [];
        list.push(resolve);
        stopWaiters.set(slot, list);
      });
    },
    get pipelines() {
      return routed();
    },
  };
}
