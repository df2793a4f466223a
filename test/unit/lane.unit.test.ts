import { describe, expect, it } from 'vitest';
import type { ProjectorEvent } from '../../src/events/types.js';
import { createLane, type LaneOptions } from '../../src/lanes/lane.js';
import { defineProjection } from '../../src/modules/types.js';
import { silentLogger } from '../../src/observability/logger.js';

const module = defineProjection({
  name: 'm',
  version: 1,
  handles: ['E'],
  collections: ['c'],
  apply: () => undefined,
});

function ev(aggregateId: string, version: number): ProjectorEvent {
  return {
    eventId: `${aggregateId}-${version}`,
    aggregateId,
    aggregateType: 'T',
    eventType: 'E',
    eventVersion: '1.0',
    version,
    eventTimestamp: new Date(0),
    eventData: {},
    eventMetadata: {},
  };
}

function lane(overrides: Partial<LaneOptions> = {}) {
  return createLane({
    module,
    maxInFlight: 100,
    concurrency: 8,
    retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
    execute: () => Promise.resolve('applied'),
    fetchVersions: () => Promise.resolve([]),
    fetchBySourceId: () => Promise.resolve(undefined),
    logger: silentLogger(),
    ...overrides,
  });
}

describe('lane', () => {
  it('runs one key in version order while other keys run concurrently', async () => {
    const log: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const l = lane({
      execute: async (e) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise((r) => setImmediate(r));
        log.push(e.eventId);
        running--;
        return 'applied';
      },
    });
    for (let v = 1; v <= 20; v++)
      for (const a of ['a', 'b', 'c']) await l.push({ event: ev(a, v), raw: {} });
    await l.idle();
    for (const a of ['a', 'b', 'c']) {
      const mine = log.filter((id) => id.startsWith(`${a}-`));
      expect(mine).toEqual(Array.from({ length: 20 }, (_, i) => `${a}-${i + 1}`));
    }
    expect(maxRunning).toBeGreaterThan(1);
    expect(maxRunning).toBeLessThanOrEqual(3);
  });

  it('makes push wait while the lane is full (backpressure)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const l = lane({ maxInFlight: 3, execute: async () => (await gate, 'applied') });
    for (let i = 1; i <= 3; i++) await l.push({ event: ev(`k${i}`, 1), raw: {} });
    let fourthAccepted = false;
    const wait = l.push({ event: ev('k4', 1), raw: {} });
    expect(wait).toBeInstanceOf(Promise);
    const fourth = Promise.resolve(wait).then(() => (fourthAccepted = true));
    await new Promise((r) => setImmediate(r));
    expect(fourthAccepted).toBe(false);
    expect(l.inFlight).toBe(4);
    release();
    await fourth;
    await l.idle();
    expect(fourthAccepted).toBe(true);
  });

  it('treats an older or equal version of a known aggregate as a duplicate', async () => {
    const applied: string[] = [];
    const outcomes: string[] = [];
    const l = lane({ execute: (e) => (applied.push(e.eventId), Promise.resolve('applied')) });
    for (const v of [1, 2, 2, 1, 3])
      await l.push({ event: ev('a', v), raw: {}, done: (o) => outcomes.push(o) });
    await l.idle();
    expect(applied).toEqual(['a-1', 'a-2', 'a-3']);
    expect(outcomes).toEqual(['applied', 'applied', 'duplicate', 'duplicate', 'applied']);
  });

  it('fills a version gap before applying the later event', async () => {
    const applied: string[] = [];
    const l = lane({
      execute: (e) => (applied.push(e.eventId), Promise.resolve('applied')),
      fetchVersions: (id, from, to) =>
        Promise.resolve(
          Array.from({ length: to - from + 1 }, (_, i) => ({ event: ev(id, from + i), raw: {} })),
        ),
    });
    await l.push({ event: ev('a', 1), raw: {} });
    await l.push({ event: ev('a', 4), raw: {} });
    await l.idle();
    expect(applied).toEqual(['a-1', 'a-2', 'a-3', 'a-4']);
  });

  it('retries a failing handler, then in strict mode rejects idle() with the error', async () => {
    let attempts = 0;
    const l = lane({
      strict: true,
      execute: () => {
        attempts++;
        return Promise.reject(new Error('boom'));
      },
    });
    await l.push({ event: ev('a', 1), raw: {} });
    await expect(l.idle()).rejects.toThrow('boom');
    expect(attempts).toBe(1);
    await expect(l.push({ event: ev('b', 1), raw: {} })).rejects.toThrow('boom');
  });

  it('succeeds after transient handler failures within maxAttempts', async () => {
    let attempts = 0;
    const outcomes: string[] = [];
    const l = lane({
      execute: () =>
        ++attempts < 3 ? Promise.reject(new Error('flaky')) : Promise.resolve('applied'),
    });
    await l.push({ event: ev('a', 1), raw: {}, done: (o) => outcomes.push(o) });
    await l.idle();
    expect(attempts).toBe(3);
    expect(outcomes).toEqual(['applied']);
  });

  it('does not finish items that were still queued when it stopped', async () => {
    const done: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const l = lane({ execute: async () => (await gate, 'applied') });
    await l.push({ event: ev('a', 1), raw: {}, done: () => done.push('a-1') });
    await l.push({ event: ev('a', 2), raw: {}, done: () => done.push('a-2') });
    const stopped = l.stop();
    release();
    await stopped;
    expect(done).toEqual(['a-1']);
  });
});

describe('lane with events it does not handle', () => {
  it('does not mistake versions of unhandled types for gaps, and never runs them', async () => {
    const applied: string[] = [];
    let fetched = 0;
    const l = lane({
      execute: (e) => (applied.push(e.eventId), Promise.resolve('applied')),
      fetchVersions: (id, from, to) => {
        fetched++;
        return Promise.resolve(
          Array.from({ length: to - from + 1 }, (_, i) => ({
            event: { ...ev(id, from + i), eventType: from + i === 3 ? 'Other' : 'E' },
            raw: {},
          })),
        );
      },
    });
    await l.push({ event: ev('a', 1), raw: {} });
    l.observe({ ...ev('a', 2), eventType: 'Other' });
    await l.push({ event: ev('a', 3 + 1), raw: {} }); // v3 (Other) never reached this lane
    await l.idle();
    expect(applied).toEqual(['a-1', 'a-4']);
    expect(fetched).toBe(1);
  });
});

describe('lane retries', () => {
  it('lets more than ten keys wait out a retry at once without a listener-leak warning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const failedOnce = new Set<string>();
      const l = lane({
        concurrency: 32,
        retry: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 20 },
        execute: (e) => {
          if (failedOnce.has(e.eventId)) return Promise.resolve('applied');
          failedOnce.add(e.eventId);
          return Promise.reject(new Error('first attempt fails'));
        },
      });
      for (let k = 0; k < 24; k++) await l.push({ event: ev(`k${k}`, 1), raw: {} });
      await l.idle();
      // Node emits the warning on the next turn after the 11th listener.
      await new Promise((r) => setImmediate(r));
      expect(failedOnce.size).toBe(24);
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('lane with a custom ordering key', () => {
  // A saga instance's key: events of several aggregates (two accounts of one transfer) share it.
  const sagaModule = defineProjection({
    name: 'saga',
    version: 1,
    handles: ['E'],
    collections: ['c'],
    orderingKey: (e) => String(e.eventData.saga),
    apply: () => undefined,
  });
  const sagaEvent = (aggregateId: string, saga: string): ProjectorEvent => ({
    ...ev(aggregateId, 1),
    eventData: { saga },
  });
  /** Lets queued microtasks and p-queue's scheduling run; bounded, no timers. */
  async function until(cond: () => boolean): Promise<void> {
    for (let i = 0; i < 1_000 && !cond(); i++) await new Promise((r) => setImmediate(r));
    expect(cond()).toBe(true);
  }

  it('never runs two events of one key at once, whatever their aggregates; other keys overlap', async () => {
    const started: string[] = [];
    const gates = new Map<string, () => void>();
    const running = new Map<string, number>();
    const maxRunning = new Map<string, number>();
    let runningAll = 0;
    let maxRunningAll = 0;
    const l = createLane({
      module: sagaModule,
      maxInFlight: 100,
      concurrency: 8,
      retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      execute: async (e) => {
        const key = String(e.eventData.saga);
        running.set(key, (running.get(key) ?? 0) + 1);
        maxRunning.set(key, Math.max(maxRunning.get(key) ?? 0, running.get(key)!));
        maxRunningAll = Math.max(maxRunningAll, ++runningAll);
        started.push(e.eventId);
        await new Promise<void>((r) => gates.set(e.eventId, r));
        running.set(key, running.get(key)! - 1);
        runningAll--;
        return 'applied';
      },
      fetchVersions: () => Promise.resolve([]),
      fetchBySourceId: () => Promise.resolve(undefined),
      logger: silentLogger(),
    });
    const open = (id: string) => gates.get(id)!();

    await l.push({ event: sagaEvent('acc-a', 'S1'), raw: {} });
    await l.push({ event: sagaEvent('acc-b', 'S1'), raw: {} });
    await l.push({ event: sagaEvent('acc-c', 'S2'), raw: {} });
    await until(() => gates.has('acc-a-1') && gates.has('acc-c-1'));
    // acc-b's event is free to start by aggregate, but its key is busy with acc-a's.
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['acc-a-1', 'acc-c-1']);

    open('acc-a-1');
    await until(() => gates.has('acc-b-1'));
    open('acc-b-1');
    open('acc-c-1');
    await l.idle();

    expect(started.filter((id) => id !== 'acc-c-1')).toEqual(['acc-a-1', 'acc-b-1']);
    expect(maxRunning.get('S1')).toBe(1);
    expect(maxRunning.get('S2')).toBe(1);
    expect(maxRunningAll).toBe(2);
  });
});
