import { Timestamp } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { createCheckpointer } from '../../src/checkpoint/checkpointer.js';
import { toPosition } from '../../src/checkpoint/position.js';
import type { CheckpointStore, CheckpointUpdate } from '../../src/checkpoint/store.js';
import { silentLogger } from '../../src/observability/logger.js';

const at = (n: number) => toPosition({ _data: `t${n}` }, new Timestamp({ t: 1, i: n }));

function recordingStore(saved: CheckpointUpdate[]): CheckpointStore {
  return {
    load: () => Promise.resolve(undefined),
    save: (_module, update) => {
      saved.push(update);
      return Promise.resolve({ ok: true });
    },
    setMode: () => Promise.resolve(),
    reset: () => Promise.resolve(),
    saveCatchUp: () => Promise.resolve({ ok: true }),
  };
}

describe('checkpointer', () => {
  it('reports the newest append time it covers when the stream brought the times out of order', async () => {
    const saved: CheckpointUpdate[] = [];
    const c = createCheckpointer({
      module: 'm',
      moduleVersion: 1,
      instanceId: 'i',
      store: recordingStore(saved),
      everyEvents: 1000,
      everyMs: 60_000,
      logger: silentLogger(),
    });
    // Two writers stamped their events .366 and .361 and committed them in the other order.
    const later = new Date('2026-12-08T00:49:37.366Z');
    const earlier = new Date('2026-12-08T00:49:37.361Z');
    c.register(1, at(1), later, true);
    c.register(2, at(2), earlier, true);
    c.finish(2);
    await c.flush();
    expect(saved).toHaveLength(0); // event 1 still pending: nothing covered yet
    c.finish(1);
    await c.flush();
    c.advanceIdle(at(3));
    await c.stop();
    expect(saved.map((u) => u.lastEventAt)).toEqual([later, later]);
    expect(saved.map((u) => u.position)).toEqual([at(2), at(3)]);
    expect(c.lastEventAt).toEqual(later);
  });

  it('counts the events of a failed save in the next one (the applied count loses nothing)', async () => {
    const saved: CheckpointUpdate[] = [];
    let failNext = true;
    const store: CheckpointStore = {
      load: () => Promise.resolve(undefined),
      save: (_module, update) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('connection reset'));
        }
        saved.push(update);
        return Promise.resolve({ ok: true });
      },
      saveCatchUp: () => Promise.resolve({ ok: true }),
      setMode: () => Promise.resolve(),
      reset: () => Promise.resolve(),
    };
    const c = createCheckpointer({
      module: 'm',
      moduleVersion: 1,
      instanceId: 'i',
      store,
      everyEvents: 1000,
      everyMs: 60_000,
      logger: silentLogger(),
    });
    for (const n of [1, 2, 3]) {
      c.register(n, at(n), null, true);
      c.finish(n);
    }
    await c.flush(); // fails: logged, retried by the next flush
    expect(saved).toHaveLength(0);
    c.register(4, at(4), null, true);
    c.finish(4);
    await c.stop();
    expect(saved.map((u) => u.appliedDelta)).toEqual([4]);
    expect(saved[0]?.position).toEqual(at(4));
  });
});
