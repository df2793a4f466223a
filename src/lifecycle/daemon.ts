import type { Db } from 'mongodb';
import type { Config } from '../config/schema.js';
import type { Upcaster } from '../dispatch/upcast.js';
import { ensureEventStoreIndexes, requireUniqueEventId } from '../events/eventStoreIndexes.js';
import { backoffDelay, sleep } from '../lanes/backoff.js';
import { toError } from '../lib/errors.js';
import type { ReactionServices } from '../modules/context.js';
import type { Deadline, ModuleDefinition } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';
import { createPartitioning, type Partitioning } from '../partitions/counts.js';
import { createSplitRebuilds } from '../partitions/splitRebuild.js';
import {
  changeStreamSource,
  type ChangeStreamSourceOptions,
  type SourceItem,
} from '../source/changeStream.js';
import { classifyError } from '../source/errors.js';
import type { BulkSink } from '../writer/sink.js';
import type { DaemonContext } from './context.js';
import { createEpochs, type Epochs } from './epoch.js';
import { pipelineStatus } from './pipelines.js';
import { createDaemonServices } from './services.js';
import type { DaemonHooks, ModuleStatus } from './status.js';

/**
 * The daemon: epochs (epoch.ts) run one after another until stop; an epoch failing on a
 * transient error starts again after a backoff. A lost history starts a new epoch with every
 * module catching up (invariant 5).
 *
 * Lifecycle: idle → running → stopping → stopped; start() and stop() are idempotent and return
 * the promise already under way.
 */
export interface Daemon extends DaemonControl {
  start(): Promise<void>;
  /** Runs a due deadline in its module's lane; rejects when the module does not run here. */
  fireDeadline(module: string, deadline: Deadline): Promise<void>;
  stop(): Promise<void>;
  /** Settles when the daemon stops (rejects when it stopped on an error). */
  readonly finished: Promise<void>;
  status(): ModuleStatus[];
}

export interface DaemonOptions {
  db: Db;
  config: Config;
  modules: readonly ModuleDefinition[];
  upcasters?: readonly Upcaster[];
  logger: Logger;
  now?(): Date;
  sink?: BulkSink;
  reactions?: ReactionServices;
  hooks?: DaemonHooks;
  /**
   * Which slots (modules, or partitions of them: partitions/slots.ts) this instance runs
   * (leases), and the fencing token of each. Absent: all of them, fence 0. When the set changes
   * (`replan()`), the current epoch drains and a new one starts with the new set.
   */
  ownership?: Ownership;
  /** Partition counts; default: `config.modules.partitions` over `modules`. */
  partitioning?: Partitioning;
  /** The live source; a seam for tests of what a real server cannot be made to do on demand. */
  source?(o: ChangeStreamSourceOptions): AsyncGenerator<SourceItem>;
}

export interface Ownership {
  owned(): ReadonlySet<string>;
  fence?(slot: string): number;
}

export interface DaemonControl {
  /** Ends the current epoch gracefully and plans the next one. */
  replan(): void;
  /**
   * Ownership changed: the slots that moved stop or start, the others go on (epoch.ts). A slot
   * taken out of `ownership.owned()` before the call is drained with its checkpoint saved.
   */
  rebalance(): void;
  /** Settles once the slot no longer runs here (drained, checkpoint saved). */
  whenStopped(slot: string): Promise<void>;
}

export function createDaemon(o: DaemonOptions): Daemon {
  const now = o.now ?? (() => new Date());
  const hooks = o.hooks ?? {};
  const services = createDaemonServices({ ...o, now, hooks });
  const partitioning =
    o.partitioning ??
    createPartitioning(
      o.config.modules.partitions,
      o.modules.map((m) => m.name),
    );
  const c: DaemonContext = {
    ...services,
    db: o.db,
    config: o.config,
    logger: o.logger,
    hooks,
    now,
    ...(o.reactions ? { reactions: o.reactions } : {}),
    partitioning,
    fence: (slot) => o.ownership?.fence?.(slot) ?? 0,
    // With leases, a split projection's version rebuild must take every partition over.
    ...(o.ownership
      ? {
          splitRebuilds: createSplitRebuilds({
            db: o.db,
            config: o.config,
            upcasters: services.upcasters,
            logger: o.logger,
            count: (m) => partitioning.count(m),
          }),
        }
      : {}),
    source: o.source ?? changeStreamSource,
    stalls: new Map(),
  };
  const abort = new AbortController();
  let fatal: Error | undefined;
  const epochs = createEpochs(c, {
    modules: o.modules,
    ...(o.ownership ? { ownership: o.ownership } : {}),
    stopped: abort.signal,
    fail(err) {
      fatal ??= err;
      abort.abort();
    },
  });
  abort.signal.addEventListener('abort', () => epochs.replan(), { once: true });
  const life = createLifecycle(async () => {
    try {
      await runEpochs(c, epochs, abort.signal, () => fatal, o.modules);
    } catch (e) {
      throw fatal ?? e;
    } finally {
      await c.splitRebuilds?.stop();
    }
    if (fatal) throw fatal;
  }, abort);

  return {
    ...life,
    replan: () => epochs.replan(),
    rebalance: () => epochs.rebalance(),
    whenStopped: (slot) => epochs.whenStopped(slot),
    fireDeadline(module, deadline) {
      // The slot of the deadline's key: a saga's deadline runs in its saga's partition.
      const p = epochs.pipelines.find((x) => x.module.name === module && x.ownsKey(deadline.key));
      if (!p)
        return Promise.reject(
          new Error(`module ${module} (key ${deadline.key}) does not run on this instance now`),
        );
      return p.lane.pushDeadline(deadline);
    },
    status: () =>
      epochs.pipelines.map((p) => {
        const stalledSince = c.stalls.get(p.slot.name);
        return { ...pipelineStatus(p), ...(stalledSince ? { stalledSince } : {}) };
      }),
  };
}

/**
 * event_store's indexes (events/eventStoreIndexes.ts): the missing ones are created where the
 * user may, each failure is logged with its fix, and reactions never run without the unique
 * eventId index. A listing that fails (the network) only logs: the epochs retry what matters.
 */
async function checkIndexes(c: DaemonContext, modules: readonly ModuleDefinition[]) {
  const reactions = modules.filter((m) => m.kind === 'reaction').map((m) => m.name);
  let report: Awaited<ReturnType<typeof ensureEventStoreIndexes>>;
  try {
    report = await ensureEventStoreIndexes(c.db, { timeoutMs: c.config.mongo.operationTimeoutMs });
  } catch (e) {
    c.logger.warn({ err: toError(e) }, 'could not check the indexes of event_store');
    return;
  }
  for (const f of report.failed) {
    c.logger.warn({ index: f.name }, `index ${f.name} of event_store is missing: ${f.message}`);
  }
  requireUniqueEventId(report, reactions);
}

/**
 * Runs epochs until the daemon stops. A dropped connection in an epoch's own reads and writes
 * (checkpoints, dead letters, cluster time) is the network's bad moment: checkpoints hold only
 * finished work (invariant 4), so a new epoch after a backoff loses nothing. Anything else stops.
 */
async function runEpochs(
  c: DaemonContext,
  epochs: Epochs,
  stopped: AbortSignal,
  fatal: () => Error | undefined,
  modules: readonly ModuleDefinition[],
): Promise<void> {
  const { config, logger } = c;
  await checkIndexes(c, modules);
  for (let failures = 0; !stopped.aborted;) {
    const epochStartedAt = Date.now();
    try {
      if ((await epochs.run()) === 'stopped') return;
      failures = 0;
    } catch (e) {
      if (fatal() || stopped.aborted || classifyError(e) !== 'infrastructure') throw e;
      // Only failures in a row back off further: an epoch that ran a while starts afresh.
      if (Date.now() - epochStartedAt > config.source.retryMaxDelayMs) failures = 0;
      failures += 1;
      const delayMs = backoffDelay(
        failures,
        config.source.retryBaseDelayMs,
        config.source.retryMaxDelayMs,
      );
      logger.warn({ err: toError(e), delayMs }, 'epoch failed on a transient error; restarting it');
      await sleep(delayMs, stopped);
    }
  }
}

interface Lifecycle {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly finished: Promise<void>;
}

/** The idle → running → stopping → stopped state machine around one run of `main`. */
function createLifecycle(main: () => Promise<void>, abort: AbortController): Lifecycle {
  let state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const finished = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  finished.catch(() => undefined);
  return {
    start() {
      if (starting) return starting;
      state = 'running';
      main().then(
        () => {
          state = 'stopped';
          resolve();
        },
        (e: unknown) => {
          state = 'stopped';
          reject(toError(e));
        },
      );
      return (starting = Promise.resolve());
    },
    stop() {
      if (stopping) return stopping;
      if (state === 'idle') {
        state = 'stopped';
        resolve();
        return (stopping = Promise.resolve());
      }
      state = 'stopping';
      abort.abort();
      stopping = finished.catch(() => undefined);
      return stopping;
    },
    finished,
  };
}
