import { beforeAll, describe, expect, it } from 'vitest';
import { eventStore } from '../../src/events/eventStore.js';
import { EVENT_COUNTER_VIEW } from '../../src/modules/testing/eventCounter.js';
import { startEngine } from '../helpers/engine.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';
import { testEvent } from '../helpers/workload.js';

/**
 * Issue 15, item 2, end to end: event_store is dropped under a running daemon. The server ends
 * the stream with `drop` then `invalidate`; the daemon must neither stop nor spin re-opening the
 * dead stream, and must follow the event_store written next (startAfter the invalidate).
 */
describe('event_store dropped under a running daemon', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  beforeAll(async () => {
    ctx = await useTestDb('inval');
  });

  it('follows the event_store written after the drop', async () => {
    const { db } = ctx;
    await eventStore(db).insertOne(testEvent('old', 1, new Date()));
    const restarts: string[] = [];
    const daemon = await startEngine(db, { hooks: { onRestart: (r) => restarts.push(r) } });
    try {
      const view = db.collection(EVENT_COUNTER_VIEW);
      await waitFor(() => view.findOne({ _id: 'old' as never }), { what: 'the first event' });
      await eventStore(db).drop();
      await waitFor(() => restarts.includes('invalidated'), { what: 'the invalidate' });
      await eventStore(db).insertOne(testEvent('new', 1, new Date()));
      await waitFor(() => view.findOne({ _id: 'new' as never }), {
        what: 'the event of the new event_store',
      });
      expect(restarts.filter((r) => r !== 'invalidated')).toEqual([]);
    } finally {
      await daemon.stop();
    }
    await expect(daemon.finished).resolves.toBeUndefined();
  });
});
