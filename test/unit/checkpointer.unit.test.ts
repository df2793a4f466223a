import { Timestamp } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { createCheckpointer } from '../../src/checkpoint/checkpointer.js';
import { toPosition } from '../../src/checkpoint/position.js';
import type { CheckpointStore, CheckpointUpdate } from '../../src/checkpoint/store.js';
import { silentLogger } from '../../src/observability/logger.js';

const at = (n: number) => toPosition({ _data: `t${n}` }, new Timestamp({ t: 1, i: n }));

describe('checkpointer', () => {
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
