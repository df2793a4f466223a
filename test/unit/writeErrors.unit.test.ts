import type { Db } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logger.js';
import { classifyError } from '../../src/source/errors.js';
import { createBatchWriter, WriteRejectedError } from '../../src/writer/batchWriter.js';
import { writesOf, type WriteIntent } from '../../src/writer/intents.js';
import { createMongoSink, WriteConcernFailedError } from '../../src/writer/sink.js';
import type { ProjectorEvent } from '../../src/events/types.js';
import { createLane } from '../../src/lanes/lane.js';
import { defineProjection } from '../../src/modules/types.js';
import { bulkWriteError, type WriteReply } from '../helpers/serverReplies.js';

/**
 * Issue 15, item 5: what a replica set answers to an unordered bulkWrite of read-model writes,
 * through the real sink and writer, with a Db whose bulkWrite fails as the driver does on that
 * reply. What matters is what the lane does next, which classifyError decides.
 */
function dbAnswering(reply: WriteReply): Db {
  const collection = { bulkWrite: () => Promise.reject(bulkWriteError(reply)) };
  return { collection: () => collection } as unknown as Db;
}

const intents: WriteIntent[] = [
  { kind: 'insertOnce', collection: 'rm', doc: { _id: 'a' } },
  { kind: 'insertOnce', collection: 'rm', doc: { _id: 'b' } },
];

async function commitAgainst(reply: WriteReply): Promise<unknown> {
  const writer = createBatchWriter({
    sink: createMongoSink(dbAnswering(reply)),
    maxBatchSize: 10,
    flushIntervalMs: 0,
    logger: silentLogger(),
  });
  return writer.commit('m', writesOf(intents)).then(
    () => undefined,
    (e: unknown) => e,
  );
}

const wtimeout = {
  code: 64,
  codeName: 'WriteConcernFailed',
  errmsg: 'waiting for replication timed out',
  errInfo: { wtimeout: true },
};

describe('write errors of a replica set', () => {
  it('a writeConcernError beside writeErrors fails the whole batch, to be retried', async () => {
    // Op 1 was a duplicate (already applied); op 0 applied, but not on a majority in time.
    const e = await commitAgainst({
      ok: 1,
      n: 1,
      writeErrors: [{ index: 1, code: 11000, errmsg: 'E11000 duplicate key error' }],
      writeConcernError: wtimeout,
    });
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(/write concern not satisfied/);
    expect(classifyError(e)).toBe('infrastructure');
  });

  it('a write concern timeout alone (64) is retried, never dead-lettered', async () => {
    const e = await commitAgainst({ ok: 1, n: 2, writeConcernError: wtimeout });
    expect(classifyError(e)).toBe('infrastructure');
  });

  it.each([
    [79, 'UnknownReplWriteConcern', "unrecognized getLastError mode: 'dc2'"],
    [100, 'UnsatisfiableWriteConcern', 'Not enough data-bearing nodes'],
  ])(
    'a write concern the deployment cannot satisfy (%i) stops: fatal',
    async (code, codeName, errmsg) => {
      const e = await commitAgainst({ ok: 1, n: 2, writeConcernError: { code, codeName, errmsg } });
      expect(classifyError(e)).toBe('fatal');
    },
  );

  it('a per-op error with a retryable code (a stepdown mid-batch) is retried without limit', async () => {
    const e = await commitAgainst({
      ok: 1,
      n: 1,
      writeErrors: [
        { index: 1, code: 11602, errmsg: 'operation was interrupted because of a stepdown' },
      ],
    });
    expect(e).toBeInstanceOf(WriteRejectedError);
    expect(classifyError(e)).toBe('infrastructure');
  });

  it("a per-op error that is the write itself (a validation failure) stays the event's", async () => {
    const e = await commitAgainst({
      ok: 1,
      n: 1,
      writeErrors: [{ index: 0, code: 121, errmsg: 'Document failed validation' }],
    });
    expect(e).toBeInstanceOf(WriteRejectedError);
    expect(classifyError(e)).toBe('other');
  });

  it('a per-op Unauthorized is fatal: no event is to blame', async () => {
    const e = await commitAgainst({
      ok: 1,
      writeErrors: [{ index: 0, code: 13, errmsg: 'not authorized on bank to execute command' }],
    });
    expect(classifyError(e)).toBe('fatal');
  });
});

describe('a lane meeting write errors', () => {
  const module = defineProjection({
    name: 'm',
    version: 1,
    handles: ['E'],
    collections: ['c'],
    apply: () => undefined,
  });
  const event = (aggregateId: string): ProjectorEvent => ({
    eventId: `${aggregateId}-1`,
    aggregateId,
    aggregateType: 'T',
    eventType: 'E',
    eventVersion: '1.0',
    version: 1,
    eventTimestamp: new Date(0),
    eventData: {},
    eventMetadata: {},
  });

  async function run(fail: () => Error, failures: number) {
    let calls = 0;
    const parked: string[] = [];
    let fatal: Error | undefined;
    const l = createLane({
      module,
      maxInFlight: 10,
      concurrency: 2,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
      execute: () => (++calls <= failures ? Promise.reject(fail()) : Promise.resolve('applied')),
      fetchVersions: () => Promise.resolve([]),
      fetchBySourceId: () => Promise.resolve(undefined),
      deadLetters: {
        park: (l: { eventId: string }) => (parked.push(l.eventId), Promise.resolve()),
      } as never,
      logger: silentLogger(),
      onFatal: (e) => (fatal = e),
    });
    await l.push({ event: event('a'), raw: {} });
    await l.idle().catch(() => undefined);
    await l.stop();
    return { calls, parked, fatal };
  }

  it('retries a stepdown per-op error past maxAttempts instead of dead-lettering it', async () => {
    const r = await run(() => new WriteRejectedError('rm: interrupted', 11602), 4);
    expect(r).toMatchObject({ calls: 5, parked: [], fatal: undefined });
  });

  it('stops on a write concern the deployment cannot satisfy, dead-lettering nothing', async () => {
    const r = await run(
      () => new WriteConcernFailedError('rm', 100, 'Not enough data-bearing nodes'),
      99,
    );
    expect(r.parked).toEqual([]);
    expect(r.calls).toBe(1);
    expect(r.fatal?.message).toMatch(/write concern not satisfied/);
  });
});
