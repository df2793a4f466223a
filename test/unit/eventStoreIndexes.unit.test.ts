import type { Db, Document, IndexDescription } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  ensureEventStoreIndexes,
  EVENT_STORE_INDEXES,
  requireUniqueEventId,
} from '../../src/events/eventStoreIndexes.js';
import { ProjectordError } from '../../src/lib/errors.js';
import { serverError } from '../helpers/serverReplies.js';

/**
 * Issue 15, item 8: event_store's indexes on a deployment projectord does not administer. The
 * Db answers listIndexes and createIndexes as a replica set does (errors by their codes).
 */
function dbWith(
  existing: Document[],
  create: (ix: IndexDescription) => Promise<unknown> = () => Promise.resolve(),
) {
  const asked: string[] = [];
  const collection = {
    listIndexes: () => ({ toArray: () => Promise.resolve(existing) }),
    createIndexes: (ixs: (IndexDescription & { name: string })[]) => {
      asked.push(...ixs.map((i) => i.name));
      return create(ixs[0]!);
    },
  };
  const db = { databaseName: 'bank', collection: () => collection } as unknown as Db;
  return { db, asked };
}

const id = { key: { _id: 1 }, name: '_id_', v: 2 };

describe('event_store indexes', () => {
  it('counts an index with the same keys under another name, and creates nothing for it', async () => {
    // What a DBA may have built: the command side's names, not ours.
    const { db, asked } = dbWith([
      id,
      { key: { aggregateId: 1, version: 1 }, unique: true, name: 'aggregateId_1_version_1' },
      { key: { eventId: 1 }, unique: true, name: 'eventId_1' },
    ]);
    const report = await ensureEventStoreIndexes(db);
    expect(asked).not.toContain('aggregate_version');
    expect(asked).not.toContain('event_id');
    expect(report.present.get('event_id')).toBe('eventId_1');
    expect(report.failed).toEqual([]);
  });

  it('a conflict (85) on one index does not skip the others', async () => {
    const { db, asked } = dbWith([id], (ix) =>
      ix.name === 'aggregate_version'
        ? Promise.reject(
            serverError({
              code: 85,
              codeName: 'IndexOptionsConflict',
              errmsg: 'Index already exists with a different name: aggregateId_1_version_1',
            }),
          )
        : Promise.resolve(),
    );
    const report = await ensureEventStoreIndexes(db);
    expect(asked).toEqual(EVENT_STORE_INDEXES.map((i) => i.name));
    expect(report.created).toHaveLength(EVENT_STORE_INDEXES.length - 1);
    expect(report.failed.map((f) => f.name)).toEqual(['aggregate_version']);
    expect(report.failed[0]?.message).toMatch(/same keys but other options/);
  });

  it('names the missing privilege and the command to run for a read-only user', async () => {
    const { db } = dbWith([id], () =>
      Promise.reject(
        serverError({
          code: 13,
          codeName: 'Unauthorized',
          errmsg: 'not authorized on bank to execute command { createIndexes: "event_store" }',
        }),
      ),
    );
    const report = await ensureEventStoreIndexes(db);
    expect(report.failed).toHaveLength(EVENT_STORE_INDEXES.length);
    expect(report.failed[1]?.message).toMatch(
      /lacks the createIndex privilege on bank\.event_store.*createIndex\(\{"eventId":1\}, \{ unique: true \}\)/,
    );
  });

  it('stops waiting for a build after the timeout (it goes on on the server)', async () => {
    const { db } = dbWith([id], () => new Promise(() => undefined));
    const report = await ensureEventStoreIndexes(db, { timeoutMs: 5 });
    expect(report.failed[0]?.message).toMatch(/goes on on the server/);
  });

  it('refuses reactions without the unique eventId index, and only them', async () => {
    const nonUnique = dbWith([id, { key: { eventId: 1 }, name: 'eventId_1' }], () =>
      Promise.reject(serverError({ code: 13, codeName: 'Unauthorized', errmsg: 'not authorized' })),
    );
    const report = await ensureEventStoreIndexes(nonUnique.db);
    expect(() => requireUniqueEventId(report, [])).not.toThrow();
    const e = (() => {
      try {
        requireUniqueEventId(report, ['transfer-saga']);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(ProjectordError);
    expect((e as ProjectordError).exitCode).toBe(2);
    expect((e as Error).message).toMatch(/transfer-saga.*unique index on event_store\.eventId/);
  });
});
