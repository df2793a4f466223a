import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  compareKeys,
  createStallWatch,
  type ProbedEvent,
  type StoreKey,
} from '../../src/lifecycle/stallWatch.js';
import { evaluateModuleHealth } from '../../src/observability/health.js';
import { silentLogger } from '../../src/observability/logger.js';

/**
 * The stall watch's decisions (lifecycle/stallWatch.ts) with event_store stood in by a list of
 * event keys and a settable clock: quiet is not stuck, busy is not stuck, an event left
 * undelivered for a period is — reopen first, then rescan — and delivering it ends the stall.
 */
const STALL_MS = 1000;
const T0 = new Date('2025-03-01T12:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

function world() {
  const store: (ProbedEvent & { raw: { _id: ObjectId; eventTimestamp: Date } })[] = [];
  let clock = 0;
  let quiet = true;
  let probes = 0;
  const stalls = new Map<string, Date>();
  const repairs: string[] = [];
  const watch = createStallWatch({
    stallMs: STALL_MS,
    anchor: { at: T0 },
    probe: (after: StoreKey) => {
      probes++;
      return Promise.resolve(store.find((e) => compareKeys(e.key, after) > 0));
    },
    quiet: () => quiet,
    handling: (type) => (type === 'TestEvent' ? ['counter'] : []),
    stalls,
    now: () => clock,
    logger: silentLogger(),
    onStall: (slot, action) => repairs.push(`${slot} ${action}`),
  });
  return {
    watch,
    stalls,
    repairs,
    probes: () => probes,
    write(ms: number) {
      const raw = { _id: new ObjectId(), eventTimestamp: at(ms) };
      store.push({
        key: { at: raw.eventTimestamp, id: raw._id },
        eventType: 'TestEvent',
        eventId: 'e',
        raw,
      });
      return raw;
    },
    tick(ms = STALL_MS) {
      clock += ms;
      return watch.check();
    },
    busy(b: boolean) {
      quiet = !b;
    },
  };
}

describe('stall watch', () => {
  it('orders keys by eventTimestamp then _id, a key without _id after its whole time', () => {
    const a = new ObjectId('64b7f0c2a1b2c3d4e5f60701');
    const b = new ObjectId('64b7f0c2a1b2c3d4e5f60702');
    expect(compareKeys({ at: at(1), id: a }, { at: at(1), id: b })).toBeLessThan(0);
    expect(compareKeys({ at: at(1), id: b }, { at: at(1) })).toBeLessThan(0);
    expect(compareKeys({ at: at(2), id: a }, { at: at(1) })).toBeGreaterThan(0);
  });

  it('does nothing on a quiet store, one probe per period', async () => {
    const w = world();
    for (let i = 0; i < 5; i++) expect(await w.tick()).toBeUndefined();
    expect(w.probes()).toBe(5);
    expect(w.repairs).toEqual([]);
    expect(w.stalls.size).toBe(0);
  });

  it('does not probe while work is pending: busy is not stuck', async () => {
    const w = world();
    w.write(10);
    w.busy(true);
    for (let i = 0; i < 5; i++) expect(await w.tick()).toBeUndefined();
    expect(w.probes()).toBe(0);
    expect(w.repairs).toEqual([]);
  });

  it('is not fooled by a stream that keeps delivering what the probe finds', async () => {
    const w = world();
    for (let i = 1; i <= 5; i++) {
      const raw = w.write(i * 10);
      expect(await w.tick()).toBeUndefined();
      w.watch.delivered(raw);
    }
    expect(w.repairs).toEqual([]);
  });

  it('reopens, then rescans, an event left undelivered; its delivery ends the stall', async () => {
    const w = world();
    const raw = w.write(10);
    expect(await w.tick()).toBeUndefined(); // first seen: a suspect, not yet a stall
    expect(await w.tick(STALL_MS - 1)).toBeUndefined();
    expect(await w.tick(1)).toBe('reopen');
    expect(w.stalls.get('counter')).toBeInstanceOf(Date);
    expect(await w.tick()).toBe('rescan');
    expect(await w.tick()).toBe('rescan');
    expect(w.repairs).toEqual(['counter reopened', 'counter rescanned', 'counter rescanned']);
    const since = w.stalls.get('counter')!;
    const health = evaluateModuleHealth({
      mode: 'live',
      lagMs: 0,
      maxLagMs: 30_000,
      lastProgressAt: since,
      pendingEvents: 0,
      stuckAfterMs: 60_000,
      now: new Date(since.getTime() + 3000),
      stalledSince: since,
    });
    expect(health.ready).toBe(false);
    expect(health.reason).toMatch(/^stalled: /);
    w.watch.delivered(raw);
    expect(w.stalls.size).toBe(0);
    expect(await w.tick()).toBeUndefined();
  });

  it('does not look for events older than what the checkpoints cover', async () => {
    const w = world();
    w.write(-10); // before what the checkpoints cover
    for (let i = 0; i < 3; i++) expect(await w.tick()).toBeUndefined();
    expect(w.repairs).toEqual([]);
  });
});
