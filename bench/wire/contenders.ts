import type { Db, Document } from 'mongodb';
import { eventStore } from '../../src/events/eventStore.js';
import { isDuplicateKeyError } from '../../src/lib/errors.js';
import { createDaemon, type Daemon, type DaemonOptions } from '../../src/lifecycle/daemon.js';
import eventCounter, { EVENT_COUNTER_VIEW } from '../../src/modules/testing/eventCounter.js';
import type { ModuleDefinition } from '../../src/modules/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMongoSink, type BulkSink } from '../../src/writer/sink.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { benchConfig } from './server.js';

/**
 * What the wire scenarios race against each other on one server: projectord itself (the
 * daemon made by createDaemon, running the event-counter module), a bare change-stream reader
 * (the ceiling: reading costs this much before anything is written) and a naive projector
 * that awaits one guarded updateOne per event (what projectord's batching is for).
 * Each is started and its stream open before the first insert; `done` resolves when it has
 * seen (or durably applied) `events` events.
 */
export interface Contender {
  done: Promise<void>;
  stop(): Promise<void>;
}

export async function bareReader(db: Db, events: number): Promise<Contender> {
  const stream = eventStore(db).watch([{ $match: { operationType: 'insert' } }], {
    batchSize: 1000,
  });
  await stream.tryNext(); // a change stream opens lazily: open it before anything is inserted
  const done = (async () => {
    for (let n = 0; n < events; n++) await stream.next();
  })();
  return { done, stop: () => stream.close() };
}

export async function naiveProjector(db: Db, events: number): Promise<Contender> {
  const stream = eventStore(db).watch<Document, { fullDocument: Document }>(
    [{ $match: { operationType: 'insert' } }],
    { batchSize: 1000 },
  );
  await stream.tryNext();
  const view = db.collection<{ _id: string }>(EVENT_COUNTER_VIEW);
  const done = (async () => {
    for (let n = 0; n < events; n++) {
      const e = (await stream.next()).fullDocument;
      const version = Number(e.version);
      try {
        await view.updateOne(
          { _id: String(e.aggregateId), version: { $lt: version } },
          { $inc: { count: 1 }, $set: { lastEventId: String(e.eventId), version } },
          { upsert: true },
        );
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
    }
  })();
  return { done, stop: () => stream.close() };
}

/**
 * A sink that reports, once a batch is acknowledged, the `lastEventId` of every view write in
 * it that succeeded: the moment that event's read-model document is durably written.
 */
export function ackingSink(
  inner: BulkSink,
  view: string,
  onAck: (eventIds: string[]) => void,
): BulkSink {
  return {
    async bulkWrite(collection, ops) {
      const res = await inner.bulkWrite(collection, ops);
      if (collection === view) {
        const failed = new Set(res.errors.map((e) => e.index));
        const ids: string[] = [];
        ops.forEach((op, i) => {
          if (failed.has(i) || !('updateOne' in op)) return;
          const set = (op.updateOne.update as Document).$set as Document | undefined;
          if (typeof set?.lastEventId === 'string') ids.push(set.lastEventId);
        });
        onAck(ids);
      }
      return res;
    },
  };
}

export interface ProjectordContender extends Contender {
  daemon: Daemon;
}

export async function projectord(
  db: Db,
  events: number,
  opts: {
    /** Default: event-counter. Another module must write `lastEventId` like it does. */
    module?: { definition: ModuleDefinition; view: string };
    config?: ConfigInput;
    onAck?: (ids: string[]) => void;
  } = {},
): Promise<ProjectordContender> {
  // A count, not a set of ids: the memory scenario measures the daemon, not 200,000 strings.
  let acked = 0;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  const daemon = await startUntilStreamOpen({
    db,
    config: benchConfig(db, opts.config),
    modules: [opts.module?.definition ?? eventCounter],
    logger: silentLogger(),
    sink: ackingSink(createMongoSink(db), opts.module?.view ?? EVENT_COUNTER_VIEW, (ids) => {
      opts.onAck?.(ids);
      acked += ids.length;
      if (acked >= events) finish();
    }),
  });
  return { daemon, done, stop: () => daemon.stop() };
}

/**
 * Starts a daemon and resolves once its change stream is open, so no insert the race makes
 * afterwards can be missed; rejects when the daemon stops first.
 */
export async function startUntilStreamOpen(o: DaemonOptions): Promise<Daemon> {
  let opened!: () => void;
  const open = new Promise<void>((r) => (opened = r));
  const daemon = createDaemon({
    ...o,
    hooks: {
      ...o.hooks,
      onStreamOpen: () => {
        o.hooks?.onStreamOpen?.();
        opened();
      },
    },
  });
  await daemon.start();
  await Promise.race([
    open,
    daemon.finished.then(() => {
      throw new Error('the daemon stopped before its change stream opened');
    }),
  ]);
  return daemon;
}
