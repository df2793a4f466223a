import type { ModulePipeline } from '../dispatch/pipeline.js';
import { toError } from '../lib/errors.js';
import type { ModuleDefinition } from '../modules/types.js';
import type { Slot } from '../partitions/slots.js';
import { catchUpModules } from './catchUpPhase.js';
import type { DaemonContext } from './context.js';
import { drainPipelines } from './drain.js';
import type { Follower } from './followPhase.js';
import { buildPipelines, setMode } from './pipelines.js';
import { prepareModules } from './prepare.js';

/**
 * Cooperative rebalancing inside a running epoch (DESIGN.md "Partitions"): when the slots this
 * instance owns change, only the slots that moved stop or start; every other lane goes on.
 *
 *  - a slot no longer owned (handed over, or its lease lost) leaves the stream's routing, its
 *    lane drains, the writer flushes and its checkpoint is saved: the next owner starts where
 *    it stopped. (After a lost lease its writes are refused by the fence; the checkpoint then
 *    holds only what was durably applied before.)
 *  - a slot newly owned is prepared (checkpoint read), caught up from event_store when it has no
 *    checkpoint (a scan of every event, dropping other partitions' keys), and attached to the
 *    stream at its position (followPhase.ts reopens the stream behind the others if needed).
 * Drains run one after another; attachments run alongside them, each on its own, so a long
 * catch-up never holds a handover. A failure to attach replans the epoch (everything starts
 * again from the checkpoints).
 */
export interface SlotChanges {
  reconcile(): Promise<void>;
  /** Removes a slot whose lane reported its lease lost from the routing at once. */
  lost(slot: string): void;
  /** Pipelines attaching now (not yet routed); drained with the epoch. */
  attaching(): ModulePipeline[];
  /** Slots being attached, built or not yet. */
  attachingSlots(): string[];
  /** Waits for attachments under way (they end when the epoch's signal aborts). */
  settle(): Promise<void>;
}

export interface SlotChangesOptions {
  c: DaemonContext;
  follower: Follower;
  signal: AbortSignal;
  owned(): readonly { module: ModuleDefinition; slot: Slot }[];
  onFatal(slot: string, err: Error): void;
  /** A slot's pipeline was drained and dropped. */
  stopped(slot: string): void;
  replan(): void;
}

export function createSlotChanges(o: SlotChangesOptions): SlotChanges {
  const { c, follower, signal } = o;
  const log = c.logger.child({ component: 'rebalance' });
  const inFlight = new Map<string, { pipeline?: ModulePipeline; done: Promise<void> }>();
  let chain: Promise<void> = Promise.resolve();
  const isOwned = (slot: string) => o.owned().some((s) => s.slot.name === slot);
  const queue = (step: () => Promise<void>) => {
    chain = chain.then(step).catch((e: unknown) => {
      log.warn({ err: toError(e) }, 'rebalancing failed; replanning');
      o.replan();
    });
    return chain;
  };

  async function drainOne(p: ModulePipeline, why: string): Promise<void> {
    const startedAt = Date.now();
    await follower.detach(p);
    await drainPipelines([p], c);
    o.stopped(p.slot.name);
    log.info({ slot: p.slot.name, ms: Date.now() - startedAt, why }, 'slot stopped here');
  }

  async function attach(module: ModuleDefinition, slot: Slot): Promise<void> {
    const entry = inFlight.get(slot.name);
    let p: ModulePipeline | undefined;
    try {
      const [plan] = await prepareModules({
        db: c.db,
        config: c.config,
        checkpoints: c.checkpoints,
        upcasters: c.upcasters,
        logger: c.logger,
        slots: [{ module, slot }],
        signal,
        ...(c.hooks.canWrite ? { canWrite: c.hooks.canWrite } : {}),
        ...(c.splitRebuilds ? { rebuildSplit: (m) => c.splitRebuilds?.start(m) } : {}),
      });
      if (!plan || signal.aborted) return;
      [p] = await buildPipelines([plan], c, { signal, onFatal: o.onFatal });
      if (!p) return;
      if (entry) entry.pipeline = p;
      if (p.joinedAt) await setMode(p, 'live', c);
      else await catchUpModules([p], signal, c);
      if (signal.aborted) return;
      if (!isOwned(slot.name)) {
        const ready = p;
        p = undefined;
        await drainOne(ready, 'no longer owned once ready');
        return;
      }
      follower.attach(p);
      p = undefined;
      log.info({ slot: slot.name }, 'slot runs here');
    } catch (e) {
      if (signal.aborted) return;
      log.warn({ err: toError(e), slot: slot.name }, 'could not start the slot; replanning');
      o.replan();
    } finally {
      // Not attached (stopped, failed, no longer owned): drained with its checkpoint saved.
      if (p && follower.pipelines.indexOf(p) < 0) {
        await drainPipelines([p], c).catch(() => undefined);
        o.stopped(slot.name);
      }
      inFlight.delete(slot.name);
    }
  }

  async function reconcile(): Promise<void> {
    if (signal.aborted) return;
    const owned = o.owned();
    const names = new Set(owned.map((s) => s.slot.name));
    for (const p of [...follower.pipelines]) {
      if (!names.has(p.slot.name)) await drainOne(p, 'not owned');
    }
    const running = new Set(follower.pipelines.map((p) => p.slot.name));
    for (const { module, slot } of owned) {
      if (running.has(slot.name) || inFlight.has(slot.name)) continue;
      const entry: { pipeline?: ModulePipeline; done: Promise<void> } = {
        done: Promise.resolve(),
      };
      inFlight.set(slot.name, entry);
      entry.done = attach(module, slot);
    }
  }

  return {
    reconcile: () => queue(reconcile),
    lost(slot) {
      const p = follower.pipelines.find((x) => x.slot.name === slot);
      if (!p) return;
      void follower.detach(p);
      void queue(() => drainOne(p, 'lease lost'));
      // Lost only locally (renewals were late) and renewed since: it starts again.
      void queue(reconcile);
    },
    attaching: () => [...inFlight.values()].flatMap((e) => (e.pipeline ? [e.pipeline] : [])),
    attachingSlots: () => [...inFlight.keys()],
    async settle() {
      await chain;
      await Promise.all([...inFlight.values()].map((e) => e.done));
    },
  };
}
