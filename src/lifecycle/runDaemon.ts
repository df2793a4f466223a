import { hostname } from 'node:os';
import { MongoClient } from 'mongodb';
import type { Config } from '../config/schema.js';
import { createUpcasterRegistry } from '../dispatch/upcast.js';
import { backoffDelay, sleep } from '../lanes/backoff.js';
import { createLeaseKeeper } from '../leases/leaseKeeper.js';
import { createLeaseManager } from '../leases/leaseManager.js';
import { toError, usageError } from '../lib/errors.js';
import { bounded } from '../lib/timeout.js';
import type { ReactionServices } from '../modules/context.js';
import { loadModules } from '../modules/load.js';
import { createConnectionWatch, type ConnectionWatch } from '../observability/health.js';
import { startHttpServer, type HttpServer } from '../observability/http.js';
import { healthReport, metricsHooks, startMetricsSampler } from '../observability/daemonMetrics.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { createEventAppender } from '../reactions/append.js';
import { createDeadlineStore } from '../reactions/deadlines.js';
import { createDeadlineScheduler } from '../reactions/scheduler.js';
import { classifyError } from '../source/errors.js';
import { createPartitioning } from '../partitions/counts.js';
import { createInstanceOwnership } from '../partitions/coordinator.js';
import { deadlineScopes } from '../partitions/deadlineScopes.js';
import { createMembership } from '../partitions/membership.js';
import { createDaemon, type Daemon } from './daemon.js';
import { createEventFetcher } from './fetcher.js';
import { onShutdownSignal } from './signals.js';

/**
 * `projectord run`: assembles the daemon with everything around it, in order — metrics and
 * HTTP endpoints (up first, so /readyz can say why it is not ready), MongoDB, modules, leases,
 * the daemon, the deadline scheduler — and releases them in reverse order on stop. Every
 * release step runs even when an earlier one failed (STYLE.md 9).
 */
export interface RunOptions {
  config: Config;
  logger: Logger;
  cwd?: string;
  /** Install SIGINT/SIGTERM handlers (the CLI does; tests stop the returned handle). */
  handleSignals?: boolean;
  now?(): Date;
}

export interface RunningDaemon {
  daemon: Daemon;
  metricsPort: number;
  stop(): Promise<void>;
  /** Settles when the daemon has stopped and everything is released. */
  finished: Promise<void>;
}

/**
 * Connects, retrying with backoff until MongoDB answers a ping. Resolves undefined when `signal`
 * stops it first: the attempt in flight is closed at once (a stop must not wait out server
 * selection), and a stop is not a failure.
 */
async function connect(
  uri: string,
  logger: Logger,
  signal: AbortSignal,
): Promise<MongoClient | undefined> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    // socketTimeoutMS: a connection whose peer vanished without a reset (a silent partition)
    // must fail its read, or a getMore would wait forever; well above source.maxAwaitTimeMs.
    const client = new MongoClient(uri, {
      serverSelectionTimeoutMS: 5000,
      socketTimeoutMS: 60_000,
      appName: 'projectord',
    });
    const closeOnStop = () => void client.close().catch(() => undefined);
    signal.addEventListener('abort', closeOnStop, { once: true });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      if (!signal.aborted) return client;
    } catch (e) {
      if (signal.aborted) break;
      const delay = backoffDelay(attempt, 500, 15_000);
      logger.warn({ err: toError(e), attempt, delayMs: delay }, 'MongoDB unreachable; retrying');
      await client.close().catch(() => undefined);
      await sleep(delay, signal);
    } finally {
      signal.removeEventListener('abort', closeOnStop);
    }
  }
  return undefined;
}

// /readyz pings MongoDB (observability/health.ts): the ping's bound stays well under the HTTP
// endpoint's own 5 s, and an answer is reused for 2 s so probes do not add up to load.
const PING_TIMEOUT_MS = 3000;
const PING_EVERY_MS = 2000;

export async function runDaemon(o: RunOptions): Promise<RunningDaemon> {
  const { config, logger } = o;
  const now = o.now ?? (() => new Date());
  if (!config.mongoUri) {
    throw usageError(
      'MONGO_URI_MISSING',
      'No MongoDB connection string: pass --mongo-uri, set PROJECTORD_MONGO_URI, or put mongoUri in the config file.',
    );
  }
  const { modules, upcasters, loaded } = await loadModules(config.modules, {
    cwd: o.cwd ?? process.cwd(),
  });
  const partitioning = createPartitioning(config.modules.partitions, loaded);
  logger.info({ modules: modules.map((m) => m.name) }, 'modules loaded');

  const releasers: { what: string; run: () => Promise<void> | void }[] = [];
  const stopController = new AbortController();
  const metrics = createMetrics({ defaultMetrics: true });
  // Filled in once MongoDB is reachable; the health endpoint answers before that.
  const current: { daemon?: Daemon; connection?: ConnectionWatch } = {};
  let notReady: string | undefined = 'connecting to MongoDB';
  const http: HttpServer = await startHttpServer({
    host: config.metrics.host,
    port: config.metrics.port,
    metrics,
    logger,
    health: async () => {
      const statuses = current.daemon?.status() ?? [];
      const reason = notReady ?? (await current.connection?.notReadyReason(statuses.length > 0));
      return {
        ...healthReport(statuses, config, now()),
        ...(reason ? { notReadyReason: reason } : {}),
      };
    },
  });
  releasers.push({ what: 'http server', run: () => http.close() });
  // http.ts logs the address it serves on.

  // A signal during start-up only asks to stop: connecting gives up at once; a later step ends
  // what it began, then everything is released (below) and the run ends as a clean stop.
  let startedUp = false;
  const removeSignals = o.handleSignals
    ? onShutdownSignal((signal) => {
        logger.info({ signal }, 'stopping: draining work and saving checkpoints');
        if (startedUp) void stop();
        else stopController.abort();
      })
    : () => undefined;
  releasers.push({ what: 'signal handlers', run: removeSignals });

  let daemon: Daemon;
  try {
    const client = await connect(config.mongoUri, logger, stopController.signal);
    if (!client) return await stoppedBeforeStart();
    releasers.push({ what: 'MongoDB client', run: () => client.close() });
    daemon = await assemble(client);
  } catch (e) {
    // Whatever start-up opened is closed, whether it failed or a signal cut it short.
    await release().catch(() => undefined);
    if (stopController.signal.aborted) return stoppedBeforeStart();
    throw e;
  }

  let stopping: Promise<void> | undefined;
  async function release(): Promise<void> {
    const failures: Error[] = [];
    for (const r of releasers.reverse()) {
      try {
        await r.run();
      } catch (e) {
        failures.push(toError(e));
        logger.warn({ err: toError(e) }, `releasing ${r.what} failed`);
      }
    }
    releasers.length = 0;
    if (failures.length > 0) throw new AggregateError(failures, 'shutdown finished with errors');
  }
  function stop(): Promise<void> {
    stopController.abort();
    stopping ??= release();
    return stopping;
  }
  const finished = daemon.finished.then(
    () => stop(),
    async (e: unknown) => {
      await stop().catch(() => undefined);
      throw e;
    },
  );
  startedUp = true;
  if (stopController.signal.aborted) void stop();
  return { daemon, metricsPort: http.port, stop, finished };

  /** MongoDB is reachable: leases, the daemon, the deadline scheduler and the metrics sampler. */
  async function assemble(client: MongoClient): Promise<Daemon> {
    const db = client.db(config.db);
    const connection = createConnectionWatch({
      ping: (signal) => client.db('admin').command({ ping: 1 }, { signal }),
      pingTimeoutMs: PING_TIMEOUT_MS,
      pingEveryMs: PING_EVERY_MS,
    });
    current.connection = connection;
    const registry = createUpcasterRegistry(upcasters);
    const fetcher = createEventFetcher(db, registry);
    const appender = createEventAppender({ db, now });
    const deadlineStore = createDeadlineStore(db, now, config.deadlines.retentionMs);
    await retrying('creating saga_deadlines indexes', () => deadlineStore.ensureIndexes());

    // A lease call left unanswered fails (the keeper retries; the lease's own expiry fences).
    const manager = bounded(
      createLeaseManager({
        db,
        instanceId: config.instanceId ?? 'projectord',
        ttlMs: config.leases.ttlMs,
        heartbeatMs: config.leases.heartbeatMs,
        clock: now,
        logger,
      }),
      config.mongo.operationTimeoutMs,
      'leases',
    );
    // One lease per slot (a module, or one partition of it), spread over the live instances.
    const ownership = createInstanceOwnership({
      db,
      instanceId: config.instanceId ?? 'projectord',
      modules,
      partitioning,
      manager,
      membership: createMembership({
        db,
        instanceId: config.instanceId ?? 'projectord',
        modules: Object.fromEntries(modules.map((m) => [m.name, partitioning.count(m.name)])),
        ttlMs: config.leases.ttlMs,
        clock: now,
        host: hostname(),
        pid: process.pid,
      }),
      heartbeatMs: config.leases.heartbeatMs,
      daemon: () => current.daemon,
      logger,
      clock: now,
      createKeeper: (k) =>
        createLeaseKeeper({ ...k, manager, heartbeatMs: config.leases.heartbeatMs, logger }),
    });

    const counting = metricsHooks(metrics);
    const daemon = createDaemon({
      db,
      config,
      modules,
      upcasters,
      logger,
      now,
      // Bounded like every MongoDB wait a lane depends on (lib/timeout.ts).
      reactions: bounded(
        {
          append: (cause, module, e) => appender.append(cause, module, e),
          schedule: (module, d) => deadlineStore.schedule(module, d),
          cancel: (module, id) => deadlineStore.cancel(module, id),
          readStream: (aggregateId, filter) => fetcher.stream(aggregateId, filter),
        } satisfies ReactionServices,
        config.mongo.operationTimeoutMs,
        'reaction',
      ),
      ownership: { owned: () => ownership.owned(), fence: (slot) => ownership.fence(slot) },
      partitioning,
      hooks: {
        ...counting,
        onRestart: (reason) => {
          counting.onRestart?.(reason);
          connection.onRestart(reason);
        },
        onStreamOpen: () => connection.onStreamOpen(),
        canWrite: (slot) => ownership.canWrite(slot),
      },
    });
    current.daemon = daemon;
    stopController.signal.addEventListener('abort', () => void ownership.drain(), { once: true });
    await ownership.start();
    releasers.push({ what: 'leases', run: () => ownership.stop() });
    await daemon.start();
    releasers.push({ what: 'daemon', run: () => daemon.stop() });
    notReady = undefined;

    const scheduler = createDeadlineScheduler({
      db,
      now,
      pollMs: 1000,
      // Only the reactions (or partitions of them) this instance owns right now and whose lane
      // exists: another owner's deadlines are theirs; at start-up the first epoch is still being
      // prepared.
      modules: () => deadlineScopes(modules, partitioning, ownership.owned(), daemon.status()),
      fire: (module, deadline) => daemon.fireDeadline(module, deadline),
      logger,
      store: deadlineStore,
    });
    await retrying('starting the deadline scheduler', () => scheduler.start());
    releasers.push({ what: 'deadline scheduler', run: () => scheduler.stop() });
    const stopSampler = startMetricsSampler({
      db,
      metrics,
      config,
      status: () => daemon.status(),
      logger,
      now,
    });
    releasers.push({ what: 'metrics sampler', run: stopSampler });
    return daemon;
  }

  /** A start-up step that a dropped connection failed is retried like the first connect. */
  async function retrying(what: string, step: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await step();
      } catch (e) {
        if (stopController.signal.aborted || classifyError(e) !== 'infrastructure') throw e;
        const delayMs = backoffDelay(attempt, 500, 15_000);
        logger.warn({ err: toError(e), attempt, delayMs }, `${what} failed; retrying`);
        await sleep(delayMs, stopController.signal);
      }
    }
  }

  /** A signal stopped the run before it was up: release what exists; the stop is not a failure. */
  async function stoppedBeforeStart(): Promise<RunningDaemon> {
    await release().catch(() => undefined);
    logger.info('stopped before start-up finished; nothing was left running');
    const done = Promise.resolve();
    const idle: Daemon = {
      start: () => done,
      stop: () => done,
      finished: done,
      status: () => [],
      replan: () => undefined,
      rebalance: () => undefined,
      whenStopped: () => done,
      fireDeadline: (module) =>
        Promise.reject(
          new Error(`module ${module} does not run: the daemon was stopped before it started`),
        ),
    };
    return { daemon: idle, metricsPort: http.port, stop: () => done, finished: done };
  }
}
