import type { Db } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventStore } from '../../src/events/eventStore.js';
import {
  ensureEventStoreIndexes,
  EVENT_STORE_INDEXES,
} from '../../src/events/eventStoreIndexes.js';
import { useTestDb } from '../helpers/mongo.js';

/**
 * Issue 15, item 8, on the run's server: indexes a DBA built under other names count; the rest
 * are created; a second run creates nothing.
 */
describe('event_store indexes on the server', () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await useTestDb('ix'));
    await eventStore(db).createIndex({ aggregateId: 1, version: 1 }, { unique: true });
  });

  it('keeps an equivalent index under its own name and creates the missing ones', async () => {
    const first = await ensureEventStoreIndexes(db);
    expect(first.failed).toEqual([]);
    expect(first.present.get('aggregate_version')).toBe('aggregateId_1_version_1');
    expect(first.created).not.toContain('aggregate_version');
    const listed = (await eventStore(db).listIndexes().toArray()) as { name: string }[];
    const names = listed.map((i) => i.name);
    expect(names.filter((n) => n === 'aggregate_version' || n.startsWith('aggregateId'))).toEqual([
      'aggregateId_1_version_1',
    ]);
    expect(names).toEqual(
      expect.arrayContaining(
        EVENT_STORE_INDEXES.filter((i) => i.name !== 'aggregate_version').map((i) => i.name),
      ),
    );
    const again = await ensureEventStoreIndexes(db);
    expect(again.created).toEqual([]);
  });
});
