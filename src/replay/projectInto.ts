import type { Db, Document } from 'mongodb';
import type { Config } from '../config/schema.js';
import type { UpcasterRegistry } from '../dispatch/upcast.js';
import { prepareEvent } from '../dispatch/prepare.js';
import type { ProjectorEvent, RawEventDocument } from '../events/types.js';
import { createLane } from '../lanes/lane.js';
import { ProjectordError, toError } from '../lib/errors.js';
import { createEventFetcher } from '../lifecycle/fetcher.js';
import { createModuleRunner } from '../modules/runner.js';
import type { ProjectionDefinition } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';
import { createPartitionRouter } from '../partitions/slots.js';
import { catchUpSource } from '../source/catchUp.js';
import { createBatchWriter } from '../writer/batchWriter.js';
import { createMongoSink } from '../writer/sink.js';
import { assertProjection } from './select.js';

/**
 * Runs one projection over a scan of event_store — every event, or those `filter` selects — in
 * (aggregateId, version) order, writing into `physical(collection)` instead of the live
 * collections when asked (rebuild and verify write to shadows; replay writes in place).
 *
 * The same parts as the daemon (lane, runner, batch writer), with two differences that are the
 * contract of rebuild, replay and verify:
 *  - no reaction services: a reaction can never run here (invariant 9), and one is refused;
 *  - a strict lane: the first handler error stops the run and rejects with a
 *    ProjectionFailedError naming the event (nothing is parked, nothing is dead-lettered).
 * Envelopes the daemon would dead-letter as invalid (bad fields, failing upcaster) are skipped
 * and counted, as the live model never applied them either; so are the events `exclude` names
 * (verify: those dead-lettered for the module and not resolved). Resolves once every write is
 * durable; on rejection every write already sent has landed too, so the caller may drop the
 * targets without a late batch recreating them.
 */
export interface ProjectIntoOptions {
  db: Db;
  module: ProjectionDefinition;
  upcasters: UpcasterRegistry;
  physical(collection: string): string;
  /** Restricts the scan; built by projectord from operator flags, never from event values. */
  filter?: Document;
  /**
   * Events to leave out though the module handles them (asked with the raw document of a valid
   * event). An excluded event still moves its aggregate's version, so the next one is no gap:
   * gap repair would fetch the excluded event from event_store and apply it after all.
   */
  exclude?(raw: RawEventDocument): boolean;
  config: Pick<Config, 'bank' | 'modules' | 'source' | 'lanes' | 'writer' | 'retry' | 'mongo'>;
  logger: Logger;
  signal: AbortSignal;
  now?(): Date;
  /** Called with the number of events scanned so far (every event, handled or not). */
  onProgress?(scanned: number): void;
}

export interface ProjectionRun {
  scanned: number;
  handled: number;
  /** Events skipped because their envelope was invalid or an upcaster failed. */
  invalid: number;
  /** Handled events left out because `exclude` named them (absent: nothing was excluded). */
  excluded?: number;
}

export class ProjectionFailedError extends ProjectordError {
  readonly eventId: string;
  readonly aggregateId: string;
  constructor(module: string, event: ProjectorEvent, cause: Error) {
    super(
      'PROJECTION_FAILED',
      `Module ${module} failed on ${event.eventType} ${event.eventId} (aggregate ` +
        `${event.aggregateId}, version ${event.version}): ${cause.message}`,
      { exitCode: 1, cause },
    );
    this.eventId = event.eventId;
    this.aggregateId = event.aggregateId;
  }
}

export class StoppedBySignalError extends ProjectordError {
  constructor(module: string) {
    super('STOPPED', `Stopped before module ${module} was fully re-run: nothing was changed.`);
  }
}

export async function projectInto(o: ProjectIntoOptions): Promise<ProjectionRun> {
  const { db, config, signal } = o;
  const module = assertProjection(o.module, 'replay');
  const logger = o.logger.child({ module: module.name, component: 'replay' });
  const fetcher = createEventFetcher(db, o.upcasters);
  const writer = createBatchWriter({
    sink: createMongoSink(db),
    maxBatchSize: config.writer.maxBatchSize,
    flushIntervalMs: config.writer.flushIntervalMs,
    timeoutMs: config.mongo.operationTimeoutMs,
    logger,
  });
  const count = config.modules.partitions[module.name] ?? 1;
  const router = createPartitionRouter(module, count);
  const runner = createModuleRunner({
    db,
    module,
    writer,
    settings: { bank: config.bank, ...(config.modules.settings[module.name] ?? {}) },
    logger,
    signal,
    now: o.now ?? (() => new Date()),
    physical: o.physical,
    // The partition each event's key falls in, as in the daemon; no lease here (fence 0).
    partition: (event) => ({ index: event ? router.ofEvent(event) : 0, count, fence: 0 }),
  });
  let failedOn: ProjectorEvent | undefined;
  const lane = createLane({
    module,
    maxInFlight: config.lanes.maxInFlight,
    concurrency: config.lanes.concurrency,
    retry: config.retry,
    strict: true,
    execute: (event) => runner.execute(event),
    handle: (event, barrier) => runner.handle(event, barrier),
    writer,
    spans: true,
    // The strict lane stops on the first error that is not the database's: remember its event.
    onFailed: (event) => (failedOn ??= event),
    fetchVersions: (id, from, to) => fetcher.versions(id, from, to),
    fetchBySourceId: (id) => fetcher.bySourceId(id),
    logger,
  });
  const prepare = (raw: RawEventDocument): ProjectorEvent | undefined => {
    const v = prepareEvent(raw, o.upcasters);
    return v.ok ? v.event : undefined;
  };
  const handles = new Set<string>(module.handles);
  const run: ProjectionRun = { scanned: 0, handled: 0, invalid: 0, excluded: 0 };
  // A stop request must also end handler retries of an unreachable database, which never give up.
  const stopLane = () => void lane.stop();
  signal.addEventListener('abort', stopLane, { once: true });
  try {
    for await (const raw of catchUpSource({
      db,
      batchSize: config.source.catchUpBatchSize,
      signal,
      logger,
      ...(o.filter ? { filter: o.filter } : {}),
    })) {
      run.scanned += 1; // counted also without a progress callback
      o.onProgress?.(run.scanned);
      const event = prepare(raw);
      if (!event) {
        if (typeof raw.eventType !== 'string' || handles.has(raw.eventType)) run.invalid++;
        continue;
      }
      if (!handles.has(event.eventType)) {
        lane.observe(event); // moves the aggregate's version: not a gap
        continue;
      }
      if (o.exclude?.(raw)) {
        run.excluded = (run.excluded ?? 0) + 1;
        lane.observe(event);
        continue;
      }
      run.handled++;
      await lane.push({ event, raw });
    }
    await lane.idle();
    await writer.flush();
  } catch (e) {
    const err = toError(e);
    throw failedOn ? new ProjectionFailedError(module.name, failedOn, err) : err;
  } finally {
    signal.removeEventListener('abort', stopLane);
    await lane.stop();
    await writer
      .flush()
      .catch((e: unknown) => logger.warn({ err: toError(e) }, 'final flush failed'));
  }
  if (signal.aborted) throw new StoppedBySignalError(module.name);
  if (run.invalid > 0) {
    logger.warn({ invalid: run.invalid }, 'events with an invalid envelope were skipped');
  }
  return run;
}
