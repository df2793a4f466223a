import type { Db, Document } from 'mongodb';
import { prepareEvent } from '../../src/dispatch/prepare.js';
import { createUpcasterRegistry, type Upcaster } from '../../src/dispatch/upcast.js';
import { eventStore } from '../../src/events/eventStore.js';
import { isDuplicateKeyError } from '../../src/lib/errors.js';
import { createModuleRunner } from '../../src/modules/runner.js';
import type { ProjectionDefinition } from '../../src/modules/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { BatchWriter, OpOutcome } from '../../src/writer/batchWriter.js';
import type { BulkOp, ReadModelDoc } from '../../src/writer/intents.js';
import type { Contender } from './contenders.js';

/**
 * The naive projector of scenario 2b: the bank projections' own handlers, run in change-stream
 * order, one event and one module at a time, every write awaited on its own (one `updateOne` or
 * `insertOne`, E11000 = applied before) before the next — a projector as it is first written,
 * without batching, lanes or checkpoints. Same handlers, same guarded writes as projectord, so
 * the read models come out the same; only the way of writing differs.
 */
function oneAtATimeWriter(db: Db): BatchWriter {
  async function write(collection: string, op: BulkOp): Promise<OpOutcome> {
    const coll = db.collection<ReadModelDoc>(collection);
    try {
      if ('updateOne' in op) {
        const u = op.updateOne;
        await coll.updateOne(u.filter, u.update, { upsert: u.upsert ?? false });
      } else if ('insertOne' in op) {
        await coll.insertOne(op.insertOne.document);
      } else {
        throw new Error(`unexpected operation for ${collection}`);
      }
      return 'applied';
    } catch (e) {
      if (isDuplicateKeyError(e)) return 'duplicate';
      throw e;
    }
  }
  const writer: BatchWriter = {
    async commit(_module, writes) {
      const outcomes: OpOutcome[] = [];
      for (let i = 0; i < writes.ops.length; i++) {
        outcomes.push(await write(writes.collections[i]!, writes.ops[i]!));
      }
      return outcomes;
    },
    submit(module, writes, receiver, ticket) {
      writer.commit(module, writes).then(
        (outcomes) => outcomes.forEach((o, i) => receiver.written(ticket, i, o)),
        (e: unknown) => receiver.failed(ticket, e instanceof Error ? e : new Error(String(e))),
      );
    },
    flush: () => Promise.resolve(),
    pendingOps: 0,
  };
  return writer;
}

export async function naiveBankProjector(
  db: Db,
  modules: readonly ProjectionDefinition[],
  upcasters: readonly Upcaster[],
  events: number,
): Promise<Contender> {
  const stream = eventStore(db).watch<Document, { fullDocument: Document }>(
    [{ $match: { operationType: 'insert' } }],
    { batchSize: 1000 },
  );
  await stream.tryNext(); // a change stream opens lazily: open it before anything is inserted
  const registry = createUpcasterRegistry(upcasters);
  const writer = oneAtATimeWriter(db);
  const abort = new AbortController();
  const runners = modules.map((module) => ({
    handles: new Set<string>(module.handles),
    runner: createModuleRunner({
      db,
      module,
      writer,
      settings: {},
      logger: silentLogger(),
      signal: abort.signal,
      now: () => new Date(),
    }),
  }));
  const done = (async () => {
    for (let n = 0; n < events; n++) {
      const v = prepareEvent((await stream.next()).fullDocument, registry);
      if (!v.ok) throw new Error(`the workload holds an invalid event: ${v.message}`);
      for (const r of runners)
        if (r.handles.has(v.event.eventType)) await r.runner.execute(v.event);
    }
  })();
  return {
    done,
    stop: async () => {
      abort.abort();
      await stream.close();
    },
  };
}
