import { Timestamp, type Db } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { toPosition, type Position } from '../../src/checkpoint/position.js';
import { createCheckpointStore, type CheckpointUpdate } from '../../src/checkpoint/store.js';
import { useTestDb } from '../helpers/mongo.js';

/**
 * projector_checkpoints against the harness MongoDB: a save never moves a module's position
 * backwards, also when savers race (an old owner resumed after a pause beside the new owner).
 */
describe('checkpoint store', () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await useTestDb('checkpoints'));
  });

  const at = (t: number, i = 1): Position =>
    toPosition({ _data: `tok-${t}-${i}` }, new Timestamp({ t, i }));
  const update = (position: Position, over: Partial<CheckpointUpdate> = {}): CheckpointUpdate => ({
    position,
    moduleVersion: 1,
    mode: 'live',
    appliedDelta: 1,
    lastEventAt: new Date(position.clusterTime.t * 1000),
    instanceId: 'a',
    ...over,
  });

  it('saves forward, refuses behind, accepts the same position again', async () => {
    const store = createCheckpointStore(db);
    expect(await store.save('m1', update(at(100)))).toEqual({ ok: true });
    expect(await store.save('m1', update(at(200)))).toEqual({ ok: true });
    expect(await store.save('m1', update(at(150), { instanceId: 'old' }))).toEqual({
      ok: false,
      reason: 'behind',
    });
    expect(await store.save('m1', update(at(200), { lastEventAt: null }))).toEqual({ ok: true });
    const stored = await store.load('m1');
    expect(stored).toMatchObject({
      position: { clusterTime: new Timestamp({ t: 200, i: 1 }), token: { _data: 'tok-200-1' } },
      eventsApplied: 3, // the refused save counted nothing
      lastEventAt: new Date(200_000), // kept when a save brings no event time
    });
  });

  it('starts over after a reset (catch-up), even from an older position', async () => {
    const store = createCheckpointStore(db);
    await store.save('m2', update(at(500)));
    await store.reset('m2', 2);
    expect((await store.load('m2'))?.position).toBeUndefined();
    expect(await store.save('m2', update(at(10), { moduleVersion: 2 }))).toEqual({ ok: true });
    expect((await store.load('m2'))?.position?.clusterTime).toEqual(new Timestamp({ t: 10, i: 1 }));
  });

  it('keeps the newest position when many savers race', async () => {
    const stores = [createCheckpointStore(db), createCheckpointStore(db)];
    // Shuffled times, sent at once from two stores: every read is answered before most writes.
    const times = [7, 3, 9, 1, 8, 2, 10, 5, 4, 6].map((n) => n * 100);
    const results = await Promise.all(
      times.map((t, k) => stores[k % 2]!.save('m3', update(at(t, 1 + (k % 3))))),
    );
    expect(results.some((r) => r.ok)).toBe(true);
    const stored = await stores[0]!.load('m3');
    expect(stored?.position?.clusterTime.t).toBe(1000);
  });
});
