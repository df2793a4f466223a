import type { Db } from 'mongodb';
import { createCheckpointStore, type CheckpointStore } from '../checkpoint/store.js';
import type { Config } from '../config/schema.js';
import { createDispatcher, type Dispatcher } from '../dispatch/dispatcher.js';
import { createPhantomGuard, type PhantomGuard } from '../dispatch/phantoms.js';
import {
  createUpcasterRegistry,
  type Upcaster,
  type UpcasterRegistry,
} from '../dispatch/upcast.js';
import { eventStore } from '../events/eventStore.js';
import { createDeadLetterStore, type DeadLetterStore } from '../lanes/deadLetters.js';
import { bounded, within } from '../lib/timeout.js';
import type { Logger } from '../observability/logger.js';
import { decideConfirmInserts } from '../source/confirmInserts.js';
import { createBatchWriter, type BatchWriter } from '../writer/batchWriter.js';
import { createMongoSink, type BulkSink } from '../writer/sink.js';
import { createEventFetcher, type EventFetcher } from './fetcher.js';
import type { DaemonHooks } from './status.js';

/** What every epoch of a daemon shares: the stores, the writer and the dispatcher. */
export interface DaemonServices {
  checkpoints: CheckpointStore;
  deadLetters: DeadLetterStore;
  upcasters: UpcasterRegistry;
  fetcher: EventFetcher;
  writer: BatchWriter;
  phantoms: PhantomGuard;
  dispatcher: Dispatcher;
}

export interface ServicesOptions {
  db: Db;
  config: Config;
  logger: Logger;
  now(): Date;
  upcasters?: readonly Upcaster[];
  sink?: BulkSink;
  hooks: DaemonHooks;
}

export function createDaemonServices(o: ServicesOptions): DaemonServices {
  const { db, config, logger, hooks } = o;
  // Every store call is one round trip: bounded, so a call the driver never settles (after a
  // dropped connection) fails and is retried instead of holding an epoch (lib/timeout.ts).
  const opBound = config.mongo.operationTimeoutMs;
  const checkpoints = bounded(createCheckpointStore(db, o.now), opBound, 'checkpoints');
  const deadLetters = bounded(createDeadLetterStore(db, o.now), opBound, 'deadLetters');
  const upcasters = createUpcasterRegistry(o.upcasters ?? []);
  const fetcher = bounded(createEventFetcher(db, upcasters), opBound, 'event_store read');
  const writer = createBatchWriter({
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
    logger,
    ...(hooks.onIgnored ? { onIgnored: hooks.onIgnored } : {}),
    ...(hooks.onInvalid ? { onInvalid: hooks.onInvalid } : {}),
    phantoms,
    onPhantom: (e) =>
      logger[phantomsExpected ? 'debug' : 'warn'](
        { aggregateId: e.aggregateId, version: e.version, eventId: e.eventId },
        'change event of an insert that is not in event_store (a refused write); ignored',
      ),
  });
  return { checkpoints, deadLetters, upcasters, fetcher, writer, phantoms, dispatcher };
}
