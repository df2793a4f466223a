import type { Db } from 'mongodb';
import { minPosition, toPosition, type Position } from '../checkpoint/position.js';
import { createCheckpointStore, type ModuleMode } from '../checkpoint/store.js';
import type { Config } from '../config/schema.js';
import { ensureEventStoreIndexes, eventStore } from '../events/eventStore.js';
import { decideConfirmInserts } from '../source/confirmInserts.js';
import { createDispatcher } from '../dispatch/dispatcher.js';
import { createPhantomGuard } from '../dispatch/phantoms.js';
import { createModulePipeline, type ModulePipeline } from '../dispatch/pipeline.js';
import { createUpcasterRegistry, type Upcaster } from '../dispatch/upcast.js';
import { backoffDelay, sleep } from '../lanes/backoff.js';
import { createDeadLetterStore } from '../lanes/deadLetters.js';
import { toError } from '../lib/errors.js';
import { bounded, within } from '../lib/timeout.js';
import type { ReactionServices } from '../modules/context.js';
import type { Deadline, ModuleDefinition } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';
import { catchUpSource } from '../source/catchUp.js';
import {
  changeStreamSource,
  HistoryLostError,
  type ChangeStreamSourceOptions,
  type SourceItem,
} from '../source/changeStream.js';
import { currentClusterTime } from '../source/clusterTime.js';
import { readAhead } from '../source/readAhead.js';
import { classifyError } from '../source/errors.js';
import { createBatchWriter, LeaseLostError, type BatchWriter } from '../writer/batchWriter.js';
import { createMongoSink, type BulkSink } from '../writer/sink.js';
import { createEventFetcher } from './fetcher.js';
import { prepareModules } from './prepare.js';
import type { DaemonHooks, ModuleStatus } from './status.js';

/**
 * The daemon's main loop, in epochs. An epoch: load checkpoints → catch up the modules that
 * have none by scanning event_store → follow the change stream from the lowest position →
 * on stop, drain lanes, flush writes, save checkpoints. A lost history starts a new epoch with
 * every module catching up (invariant 5).
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
   * Which modules this instance runs (leases). Absent: all of them. When the set changes
   * (`replan()`), the current epoch drains and a new one starts with the new set.
   */
  ownership?: { owned(): ReadonlySet<string> };
  /** The live source; a seam for tests of what a real server cannot be made to do on demand. */
  source?(o: ChangeStreamSourceOptions): AsyncGenerator<SourceItem>;
}

/** Change events read ahead of dispatch (their store confirmations are batched). */
const READ_AHEAD = 256;

export interface DaemonControl {
  /** Ends the current epoch gracefully and plans the next one (ownership changed). */
  replan(): void;
}

export function createDaemon(o: DaemonOptions): Daemon {
  const { db, config, logger } = o;
  const now = o.now ?? (() => new Date());
  const hooks = o.hooks ?? {};
  const abort = new AbortController();
  // Every store call is one round trip: bounded, so a call the driver never settles (after a
  // dropped connection) fails and is retried instead of holding an epoch (lib/timeout.ts).
  const opBound = config.mongo.operationTimeoutMs;
  const checkpoints = bounded(createCheckpointStore(db, now), opBound, 'checkpoints');
  const deadLetters = bounded(createDeadLetterStore(db, now), opBound, 'deadLetters');
  const upcasters = createUpcasterRegistry(o.upcasters ?? []);
  const fetcher = bounded(createEventFetcher(db, upcasters), opBound, 'event_store read');
  const writer: BatchWriter = createBatchWriter({
    sink: o.sink ?? createMongoSink(db),
    maxBatchSize: config.writer.maxBatchSize,
    flushIntervalMs: config.writer.flushIntervalMs,
    timeoutMs: config.mongo.operationTimeoutMs,
    logger,
    ...(hooks.canWrite ? { canWrite: hooks.canWrite } : {}),
  });
  // Decided once per daemon, on first use; see source.confirmInserts.
  let confirmDecision: Promise<boolean> | undefined;
  // True once the server is known to emit change events for refused inserts (the fallback):
  // there such an event is routine (every lost optimistic-concurrency race), so it is logged
  // at debug; on a server that should never emit one, it stays a warning.
  let phantomsExpected = false;
  const confirmInserts = () =>
    (confirmDecision ??= decideConfirmInserts(db, config.source.confirmInserts, logger).then(
      (confirm) => (phantomsExpected = confirm),
    ));
  const phantoms = createPhantomGuard({
    storedEventId: async (aggregateId, version) =>
      (await fetcher.versions(aggregateId, version, version))[0]?.event.eventId,
    confirmEvery: confirmInserts,
    storedIds: async (ids) =>
      (
        await within(
          eventStore(db)
            .find({ _id: { $in: ids as never[] } }, { projection: { _id: 1 } })
            .toArray(),
          opBound,
          'confirming change events in event_store',
        )
      ).map((d) => d._id),
  });
  const dispatcher = createDispatcher({
    upcasters,
    deadLetters,
    ...(hooks.onIgnored ? { onIgnored: hooks.onIgnored } : {}),
    phantoms,
    onPhantom: (e) =>
      logger[phantomsExpected ? 'debug' : 'warn'](
        { aggregateId: e.aggregateId, version: e.version, eventId: e.eventId },
        'change event of an insert that is not in event_store (a refused write); ignored',
      ),
  });
  let pipelines: ModulePipeline[] = [];
  let state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  let resolveFinished!: () => void;
  let rejectFinished!: (e: Error) => void;
  const finished = new Promise<void>((res, rej) => {
    resolveFinished = res;
    rejectFinished = rej;
  });
  finished.catch(() => undefined);
  let fatal: Error | undefined;
  let epochAbort = new AbortController();
  let wake: (() => void) | undefined;

  function fail(err: Error): void {
    fatal ??= err;
    abort.abort();
  }

  function replan(): void {
    epochAbort.abort();
    wake?.();
  }
  abort.signal.addEventListener('abort', replan, { once: true });

  function ownedModules(): ModuleDefinition[] {
    const owned = o.ownership?.owned();
    return owned ? o.modules.filter((m) => owned.has(m.name)) : [...o.modules];
  }

  async function setMode(p: ModulePipeline, mode: ModuleMode): Promise<void> {
    p.checkpointer.mode = mode;
    hooks.onModeChange?.(p.module.name, mode);
    await checkpoints.setMode(p.module.name, mode, p.module.version, config.instanceId);
  }

  async function epoch(): Promise<'stopped' | 'again'> {
    epochAbort = new AbortController();
    const signal = epochAbort.signal;
    const modules = ownedModules();
    if (modules.length === 0) {
      pipelines = [];
      logger.info('no module owned by this instance; standing by');
      await new Promise<void>((r) => {
        wake = r;
        if (signal.aborted) r();
      });
      wake = undefined;
      return abort.signal.aborted ? 'stopped' : 'again';
    }
    let plan: Awaited<ReturnType<typeof prepareModules>>;
    try {
      plan = await prepareModules({
        db,
        config,
        checkpoints,
        modules,
        upcasters,
        logger,
        signal,
        ...(hooks.canWrite ? { canWrite: hooks.canWrite } : {}),
      });
    } catch (e) {
      // A version-bump rebuild whose lease was lost swapped nothing: hand over, plan again.
      if (!(e instanceof LeaseLostError)) throw e;
      logger.warn({ err: e }, 'lease lost during a rebuild: handing the module over');
      return abort.signal.aborted ? 'stopped' : 'again';
    }
    pipelines = [];
    for (const { module, position } of plan) {
      pipelines.push(
        createModulePipeline(module, position, {
          db,
          config,
          writer,
          checkpoints,
          deadLetters,
          parkedKeys: await deadLetters.openKeys(module.name),
          logger,
          signal,
          now,
          ...(o.reactions ? { reactions: o.reactions } : {}),
          fetch: fetcher,
          onOutcome: (m, e, outcome, ms) => hooks.onOutcome?.(m, e, outcome, ms),
          onFatal: (m, err) => {
            if (err instanceof LeaseLostError) {
              logger.warn({ module: m }, 'lease lost: handing the module over');
              replan();
            } else fail(new Error(`module ${m} failed: ${err.message}`, { cause: err }));
          },
        }),
      );
    }
    try {
      await catchUp(
        pipelines.filter((p) => !p.joinedAt),
        signal,
      );
      if (!signal.aborted) await follow(signal);
      return abort.signal.aborted ? 'stopped' : 'again';
    } catch (e) {
      // A lane whose module lost its lease refuses new events: hand over and plan again.
      if (e instanceof LeaseLostError) return abort.signal.aborted ? 'stopped' : 'again';
      if (e instanceof HistoryLostError) {
        logger.warn(
          { err: e },
          'resume position lost from the oplog: catching up from event_store, then rejoining the live stream',
        );
        hooks.onRestart?.('history_lost');
        await drain();
        for (const p of pipelines) await checkpoints.reset(p.module.name, p.module.version);
        return 'again';
      }
      throw e;
    } finally {
      await drain();
    }
  }

  async function catchUp(targets: ModulePipeline[], signal: AbortSignal): Promise<void> {
    if (targets.length === 0) return;
    const scanStart = await within(currentClusterTime(db), opBound, 'reading the cluster time');
    for (const p of targets) await setMode(p, 'catching-up');
    logger.info({ modules: targets.map((p) => p.module.name) }, 'catching up from event_store');
    let n = 0;
    // Per module: events handled and the newest append time, for the first checkpoint.
    const tally = new Map(
      targets.map((p) => [p, { applied: 0, lastEventAt: null as Date | null }]),
    );
    for await (const raw of catchUpSource({
      db,
      batchSize: config.source.catchUpBatchSize,
      signal,
      logger,
    })) {
      await dispatcher.dispatch(raw, targets);
      for (const [p, t] of tally) {
        if (typeof raw.eventType !== 'string' || !p.handles.has(raw.eventType)) continue;
        t.applied++;
        if (raw.storedAt instanceof Date && (!t.lastEventAt || raw.storedAt > t.lastEventAt)) {
          t.lastEventAt = raw.storedAt;
        }
      }
      if (++n % 10_000 === 0) logger.info({ events: n }, 'catching up');
    }
    await Promise.all(targets.map((p) => p.lane.idle()));
    if (signal.aborted) return;
    await writer.flush();
    const joined = toPosition(null, scanStart);
    for (const p of targets) {
      p.setJoined(joined);
      p.checkpointer.mode = 'live';
      hooks.onModeChange?.(p.module.name, 'live');
      const t = tally.get(p);
      await checkpoints.save(p.module.name, {
        position: joined,
        moduleVersion: p.module.version,
        mode: 'live',
        appliedDelta: t?.applied ?? 0,
        lastEventAt: t?.lastEventAt ?? null,
        instanceId: config.instanceId ?? 'unknown',
      });
    }
    logger.info({ events: n }, 'catch-up finished; joining the live stream');
  }

  async function follow(signal: AbortSignal): Promise<void> {
    // Every epoch stamps its modules: the checkpoint names the instance running them now.
    for (const p of pipelines) await setMode(p, 'live');
    const start = minPosition(pipelines.map((p) => p.joinedAt).filter((p): p is Position => !!p));
    let seq = 0;
    const stopPolling = pollDeadLetterRequests();
    try {
      const source = (o.source ?? changeStreamSource)({
        db,
        start,
        ...config.source,
        operationTimeoutMs: opBound,
        signal,
        logger,
        onRestart: (reason) => hooks.onRestart?.(reason),
        onOpen: () => hooks.onStreamOpen?.(),
      });
      // Events read ahead have their store confirmations batched (see phantoms.warm).
      const warm = (item: SourceItem, waiting: readonly SourceItem[]) => {
        if (item.kind !== 'event') return;
        phantoms.warm(item.raw._id, () =>
          waiting.flatMap((w) => (w.kind === 'event' ? [w.raw._id] : [])),
        );
      };
      for await (const item of readAhead(source, READ_AHEAD, warm)) {
        if (item.kind === 'event') {
          seq++;
          await dispatcher.dispatch(item.raw, pipelines, { seq, position: item.position });
        } else if (item.position) {
          for (const p of pipelines)
            if (p.checkpointer.pending === 0) p.checkpointer.advanceIdle(item.position);
        }
      }
    } finally {
      stopPolling();
    }
  }

  function pollDeadLetterRequests(): () => void {
    const submitted = new Set<string>();
    const timer = setInterval(() => {
      void (async () => {
        for (const p of pipelines) {
          for (const r of await deadLetters.requests(p.module.name)) {
            // One performance per request: a new request of the same entry has a new updatedAt.
            const request = `${r._id}:${r.status}:${r.updatedAt.getTime()}`;
            if (submitted.has(request)) continue;
            submitted.add(request);
            logger.info(
              { module: p.module.name, id: r._id, status: r.status },
              'performing a dead-letter request',
            );
            await p.lane.release(r);
          }
        }
      })().catch((e: unknown) => logger.warn({ err: toError(e) }, 'dead-letter poll failed'));
    }, 1000);
    timer.unref();
    return () => clearInterval(timer);
  }

  /** Waits for in-flight work (bounded), then writes and checkpoints everything finished. */
  async function drain(): Promise<void> {
    const idle = Promise.all(pipelines.map((p) => p.lane.idle().catch(() => undefined)));
    await within(idle, config.shutdown.timeoutMs, 'draining the lanes', 'shutdown.timeoutMs').catch(
      () => logger.warn('shutdown timeout: unfinished events will be re-read on restart'),
    );
    // Bounded too: a handler stuck past every timeout must not hold the stop (invariant 8); its
    // event is unfinished, so the checkpoint stays before it and a restart reads it again.
    await within(
      Promise.all(pipelines.map((p) => p.lane.stop())),
      config.shutdown.timeoutMs,
      'stopping the lanes',
      'shutdown.timeoutMs',
    ).catch((e: unknown) =>
      logger.warn(
        { err: toError(e) },
        'lanes did not stop in time; their unfinished events will be re-read',
      ),
    );
    await writer
      .flush()
      .catch((e: unknown) => logger.warn({ err: toError(e) }, 'final flush failed'));
    for (const p of pipelines) {
      await p.checkpointer
        .stop()
        .catch((e: unknown) => logger.warn({ err: toError(e) }, 'final checkpoint failed'));
    }
  }

  async function run(): Promise<void> {
    try {
      await ensureEventStoreIndexes(db).catch((e: unknown) =>
        logger.warn(
          { err: toError(e) },
          'could not create event_store indexes; gap repair and catch-up will be slower',
        ),
      );
      for (let failures = 0; !abort.signal.aborted;) {
        let r: 'stopped' | 'again';
        const epochStartedAt = Date.now();
        try {
          r = await epoch();
          failures = 0;
        } catch (e) {
          // A dropped connection in the epoch's own reads and writes (checkpoints, dead letters,
          // cluster time) is the network's bad moment: checkpoints hold only finished work
          // (invariant 4), so a new epoch after a backoff loses nothing. Anything else stops.
          if (fatal || abort.signal.aborted || classifyError(e) !== 'infrastructure') throw e;
          // Only failures in a row back off further: an epoch that ran a while starts afresh.
          if (Date.now() - epochStartedAt > config.source.retryMaxDelayMs) failures = 0;
          failures += 1;
          const delayMs = backoffDelay(
            failures,
            config.source.retryBaseDelayMs,
            config.source.retryMaxDelayMs,
          );
          logger.warn(
            { err: toError(e), delayMs },
            'epoch failed on a transient error; restarting it',
          );
          await sleep(delayMs, abort.signal);
          continue;
        }
        if (r === 'stopped') break;
      }
      if (fatal) throw fatal;
      state = 'stopped';
      resolveFinished();
    } catch (e) {
      state = 'stopped';
      rejectFinished(fatal ?? toError(e));
    }
  }

  return {
    start() {
      if (starting) return starting;
      state = 'running';
      void run();
      starting = Promise.resolve();
      return starting;
    },
    stop() {
      if (stopping) return stopping;
      if (state === 'idle') {
        state = 'stopped';
        resolveFinished();
        return (stopping = Promise.resolve());
      }
      state = 'stopping';
      abort.abort();
      stopping = finished.catch(() => undefined);
      return stopping;
    },
    finished,
    replan,
    fireDeadline(module, deadline) {
      const p = pipelines.find((x) => x.module.name === module);
      if (!p)
        return Promise.reject(new Error(`module ${module} does not run on this instance now`));
      return p.lane.pushDeadline(deadline);
    },
    status: () =>
      pipelines.map((p) => ({
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
      })),
  };
}
