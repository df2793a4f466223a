import { describe, expect, it } from 'vitest';
import {
  createBatchWriter,
  LeaseLostError,
  WriteRejectedError,
} from '../../src/writer/batchWriter.js';
import { OperationTimeoutError } from '../../src/lib/timeout.js';
import { classifyError } from '../../src/source/errors.js';
import { writesOf, type WriteIntent } from '../../src/writer/intents.js';
import type { BulkSink, OpError } from '../../src/writer/sink.js';
import { silentLogger } from '../../src/observability/logger.js';

const insert = (collection: string, id: string): WriteIntent => ({
  kind: 'insertOnce',
  collection,
  doc: { _id: id },
});

function recordingSink(errorsFor: (collection: string, ids: string[]) => OpError[] = () => []) {
  const calls: { collection: string; ids: string[] }[] = [];
  const sink: BulkSink = {
    bulkWrite(collection, ops) {
      const ids = ops.map((op) => ('insertOne' in op ? String(op.insertOne.document._id) : '?'));
      calls.push({ collection, ids });
      return Promise.resolve({ errors: errorsFor(collection, ids) });
    },
  };
  return { sink, calls };
}

describe('batch writer', () => {
  it('groups the intents of many commits into one bulkWrite per collection', async () => {
    const { sink, calls } = recordingSink();
    const w = createBatchWriter({
      sink,
      maxBatchSize: 100,
      flushIntervalMs: 5,
      logger: silentLogger(),
    });
    const results = await Promise.all([
      w.commit('m', writesOf([insert('a', '1'), insert('b', '2')])),
      w.commit('m', writesOf([insert('a', '3')])),
    ]);
    expect(results).toEqual([['applied', 'applied'], ['applied']]);
    expect(calls.sort((x, y) => x.collection.localeCompare(y.collection))).toEqual([
      { collection: 'a', ids: ['1', '3'] },
      { collection: 'b', ids: ['2'] },
    ]);
  });

  it('maps E11000 to duplicate and other per-op errors to a rejection of that commit only', async () => {
    const { sink } = recordingSink((_c, ids) =>
      ids.flatMap((id, index) =>
        id === 'dup'
          ? [{ index, code: 11000, message: 'E11000' }]
          : id === 'bad'
            ? [{ index, code: 2, message: 'bad value' }]
            : [],
      ),
    );
    const w = createBatchWriter({
      sink,
      maxBatchSize: 100,
      flushIntervalMs: 0,
      logger: silentLogger(),
    });
    const ok = w.commit('m', writesOf([insert('a', 'dup'), insert('a', 'new')]));
    const failing = w.commit('m', writesOf([insert('a', 'bad')]));
    expect(await ok).toEqual(['duplicate', 'applied']);
    await expect(failing).rejects.toBeInstanceOf(WriteRejectedError);
  });

  it('splits batches at maxBatchSize', async () => {
    const { sink, calls } = recordingSink();
    const w = createBatchWriter({
      sink,
      maxBatchSize: 2,
      flushIntervalMs: 1,
      logger: silentLogger(),
    });
    await w.commit(
      'm',
      writesOf([
        insert('a', '1'),
        insert('a', '2'),
        insert('a', '3'),
        insert('a', '4'),
        insert('a', '5'),
      ]),
    );
    expect(calls.map((c) => c.ids.length)).toEqual([2, 2, 1]);
  });

  it('sends nothing for a module that lost its lease (fencing)', async () => {
    const { sink, calls } = recordingSink();
    const w = createBatchWriter({
      sink,
      maxBatchSize: 10,
      flushIntervalMs: 0,
      logger: silentLogger(),
      canWrite: (m) => m !== 'fenced',
    });
    await expect(w.commit('fenced', writesOf([insert('a', 'x')]))).rejects.toBeInstanceOf(
      LeaseLostError,
    );
    expect(calls).toEqual([]);
  });

  it('rejects every commit of a batch whose bulkWrite failed as a whole', async () => {
    const sink: BulkSink = { bulkWrite: () => Promise.reject(new Error('connection reset')) };
    const w = createBatchWriter({
      sink,
      maxBatchSize: 10,
      flushIntervalMs: 0,
      logger: silentLogger(),
    });
    await expect(w.commit('m', writesOf([insert('a', '1')]))).rejects.toThrow('connection reset');
  });

  it('fails a batch the sink never answers after timeoutMs, as an infrastructure error, and writes on', async () => {
    let calls = 0;
    const sink: BulkSink = {
      // The first batch hangs for good (what the driver did after a dropped connection).
      bulkWrite: () =>
        ++calls === 1 ? new Promise(() => undefined) : Promise.resolve({ errors: [] }),
    };
    const w = createBatchWriter({
      sink,
      maxBatchSize: 10,
      flushIntervalMs: 0,
      timeoutMs: 50,
      logger: silentLogger(),
    });
    const error = await w.commit('m', writesOf([insert('a', '1')])).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OperationTimeoutError);
    expect(classifyError(error)).toBe('infrastructure');
    expect(String(error)).toMatch(/mongo\.operationTimeoutMs/);
    // The writer is not stuck behind the abandoned batch: the retry goes through, flush returns.
    await expect(w.commit('m', writesOf([insert('a', '1')]))).resolves.toEqual(['applied']);
    await w.flush();
    expect(calls).toBe(2);
  });
});
