import type { Db } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { sagaDeadline } from '../../projections/lib/saga-deadlines.js';
import transferSaga from '../../projections/transfer-saga.js';
import { ProjectordError } from '../../src/lib/errors.js';
import { buildContext } from '../../src/modules/context.js';
import type { Deadline } from '../../src/modules/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import {
  createDeadlineStore,
  DEFAULT_DEADLINE_RETENTION_MS,
  SAGA_DEADLINES,
  type StoredDeadline,
} from '../../src/reactions/deadlines.js';
import { createDeadlineScheduler } from '../../src/reactions/scheduler.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';

const T0 = new Date('2025-03-01T10:00:00Z').getTime();
const MIN = 60_000;

/** A settable clock shared by stores and schedulers: tests never wait for time to pass. */
function clock() {
  let t = T0;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

function deadline(id: string, dueInMs: number, payload = {}): Deadline {
  return { id, key: `key-${id}`, dueAt: new Date(T0 + dueInMs), payload };
}

describe('durable deadlines (saga_deadlines)', () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await useTestDb('deadlines'));
  });
  const doc = (module: string, id: string) =>
    db.collection<StoredDeadline>(SAGA_DEADLINES).findOne({ _id: `${module}:${id}` });

  function setup(module: string, opts: { fail?: (d: Deadline) => boolean } = {}) {
    const c = clock();
    const store = createDeadlineStore(db, c.now);
    const fired: string[] = [];
    const scheduler = (
      owner: string,
      over: { staleClaimMs?: number; fire?: (d: Deadline) => Promise<void> } = {},
    ) =>
      createDeadlineScheduler({
        db,
        now: c.now,
        pollMs: 5,
        modules: [module],
        owner,
        staleClaimMs: over.staleClaimMs ?? 10 * MIN,
        retryBaseDelayMs: MIN,
        logger: silentLogger(),
        fire: (_m: string, d: Deadline) => {
          if (over.fire) return over.fire(d);
          if (opts.fail?.(d)) return Promise.reject(new Error(`handler failed on ${d.id}`));
          fired.push(d.id);
          return Promise.resolve();
        },
      });
    return { c, store, fired, scheduler };
  }

  it('schedules, replaces a pending one, cancels, and revives a cancelled one', async () => {
    const { store } = setup('m-store');
    await store.schedule('m-store', deadline('d1', MIN, { n: 1 }));
    expect(await doc('m-store', 'd1')).toMatchObject({
      module: 'm-store',
      id: 'd1',
      key: 'key-d1',
      status: 'pending',
      dueAt: new Date(T0 + MIN),
      payload: { n: 1 },
      attempts: 0,
    });
    await store.schedule('m-store', deadline('d1', 2 * MIN, { n: 2 }));
    expect(await doc('m-store', 'd1')).toMatchObject({
      dueAt: new Date(T0 + 2 * MIN),
      payload: { n: 2 },
    });
    await store.cancel('m-store', 'd1');
    expect((await doc('m-store', 'd1'))?.status).toBe('cancelled');
    await store.schedule('m-store', deadline('d1', 3 * MIN));
    expect((await doc('m-store', 'd1'))?.status).toBe('pending');
  });

  it('lets fired and cancelled deadlines expire after the retention, never pending ones', async () => {
    const { c, store, scheduler } = setup('m-expire');
    await store.ensureIndexes();
    const ttl = (await db.collection(SAGA_DEADLINES).indexes()).find((i) => i.name === 'expire');
    expect(ttl).toMatchObject({ key: { expireAt: 1 }, expireAfterSeconds: 0 });
    await store.schedule('m-expire', deadline('c1', MIN));
    expect(await doc('m-expire', 'c1')).not.toHaveProperty('expireAt');
    await store.cancel('m-expire', 'c1');
    expect((await doc('m-expire', 'c1'))?.expireAt).toEqual(
      new Date(T0 + DEFAULT_DEADLINE_RETENTION_MS),
    );
    await store.schedule('m-expire', deadline('c1', 2 * MIN)); // revived: pending again
    expect(await doc('m-expire', 'c1')).not.toHaveProperty('expireAt');
    c.advance(2 * MIN);
    await scheduler('a').pollOnce();
    expect(await doc('m-expire', 'c1')).toMatchObject({
      status: 'fired',
      expireAt: new Date(c.now().getTime() + DEFAULT_DEADLINE_RETENTION_MS),
    });
    const hours = createDeadlineStore(db, c.now, 2 * 60 * MIN);
    await hours.schedule('m-expire', deadline('c2', 10 * MIN));
    await hours.cancel('m-expire', 'c2');
    expect((await doc('m-expire', 'c2'))?.expireAt).toEqual(
      new Date(c.now().getTime() + 120 * MIN),
    );
  });

  it('stores payload values as data, never as operators', async () => {
    const { store } = setup('m-payload');
    await store.schedule('m-payload', deadline('d1', MIN, { note: { $gt: '' } }));
    const stored = await doc('m-payload', 'd1');
    expect(Object.keys(stored?.payload.note as object)).toEqual(['\uFF04gt']);
  });

  it('fires a deadline once when it is due, and never revives a fired one', async () => {
    const { c, store, fired, scheduler } = setup('m-once');
    await store.schedule('m-once', deadline('d1', MIN));
    const s = scheduler('a');
    expect(await s.pollOnce()).toBe(0);
    c.advance(MIN);
    expect(await s.pollOnce()).toBe(1);
    expect(await s.pollOnce()).toBe(0);
    expect(fired).toEqual(['d1']);
    expect(await doc('m-once', 'd1')).toMatchObject({
      status: 'fired',
      attempts: 1,
      firedAt: c.now(),
    });
    await store.schedule('m-once', deadline('d1', 5 * MIN));
    await store.cancel('m-once', 'd1');
    expect(await doc('m-once', 'd1')).toMatchObject({ status: 'fired', dueAt: new Date(T0 + MIN) });
  });

  it('fires only the deadlines of its own modules, oldest first', async () => {
    const { c, store, fired, scheduler } = setup('m-own');
    await store.schedule('m-own', deadline('late', 2 * MIN));
    await store.schedule('m-own', deadline('early', MIN));
    await store.schedule('m-other', deadline('x', 0));
    c.advance(3 * MIN);
    await scheduler('a').pollOnce();
    expect(fired).toEqual(['early', 'late']);
    expect((await doc('m-other', 'x'))?.status).toBe('pending');
  });

  it('fires what fell due while no scheduler was running', async () => {
    const { c, store, fired, scheduler } = setup('m-down');
    await store.schedule('m-down', deadline('d1', MIN));
    c.advance(60 * MIN); // the daemon was down through the due time
    const s = scheduler('restarted');
    await s.start();
    await waitFor(() => fired.length === 1, { what: 'the overdue deadline to fire' });
    await s.stop();
    expect(await doc('m-down', 'd1')).toMatchObject({ status: 'fired', owner: 'restarted' });
  });

  it('fires each deadline exactly once with two schedulers competing', async () => {
    const { c, store, fired, scheduler } = setup('m-race');
    for (let i = 0; i < 30; i++) await store.schedule('m-race', deadline(`d${i}`, i * 1000));
    c.advance(MIN);
    const a = scheduler('a');
    const b = scheduler('b');
    await Promise.all([a.start(), b.start()]);
    await waitFor(() => fired.length >= 30, { what: '30 deadlines fired' });
    await Promise.all([a.stop(), b.stop()]);
    expect(fired).toHaveLength(30);
    expect(new Set(fired).size).toBe(30);
    const owners = await db
      .collection<StoredDeadline>(SAGA_DEADLINES)
      .distinct('owner', { module: 'm-race', status: 'fired' });
    expect(owners.length).toBeGreaterThanOrEqual(1);
  });

  it('re-claims a deadline whose owner crashed mid-fire, once the claim is stale', async () => {
    const { c, store, fired, scheduler } = setup('m-crash');
    await store.schedule('m-crash', deadline('d1', 0));
    // The crashed owner: claimed it, never finished.
    expect(await store.claimNext(['m-crash'], 'crashed', 10 * MIN)).toMatchObject({
      status: 'firing',
    });
    const b = scheduler('b');
    c.advance(10 * MIN - 1);
    expect(await b.pollOnce()).toBe(0);
    c.advance(1);
    expect(await b.pollOnce()).toBe(1);
    expect(fired).toEqual(['d1']);
    expect(await doc('m-crash', 'd1')).toMatchObject({ status: 'fired', owner: 'b', attempts: 2 });
  });

  it("keeps a slow handler's claim fresh so no other scheduler fires it again", async () => {
    const { c, store, scheduler } = setup('m-slow');
    await store.schedule('m-slow', deadline('d1', 0));
    let release: () => void = () => undefined;
    let calls = 0;
    const slow = scheduler('slow', {
      fire: () => {
        calls += 1;
        return new Promise<void>((r) => (release = r));
      },
    });
    const running = slow.pollOnce();
    await waitFor(() => calls === 1, { what: 'the slow handler to start' });
    c.advance(6 * MIN);
    await slow.pollOnce(); // renews the claim, claims nothing new
    c.advance(6 * MIN); // 12 min after the claim, 6 after its renewal
    const other = scheduler('other', { fire: () => Promise.resolve(void (calls += 1)) });
    expect(await other.pollOnce()).toBe(0);
    release();
    expect(await running).toBe(1);
    expect(calls).toBe(1);
    expect(await doc('m-slow', 'd1')).toMatchObject({ status: 'fired', owner: 'slow' });
  });

  it('puts a failed deadline back with a delay and the error, then fires it again', async () => {
    let failing = true;
    const { c, store, fired, scheduler } = setup('m-fail', { fail: () => failing });
    await store.schedule('m-fail', deadline('d1', 0));
    const s = scheduler('a');
    expect(await s.pollOnce()).toBe(1);
    expect(await doc('m-fail', 'd1')).toMatchObject({
      status: 'pending',
      dueAt: new Date(T0 + MIN),
      lastError: 'handler failed on d1',
      attempts: 1,
    });
    failing = false;
    expect(await s.pollOnce()).toBe(0);
    c.advance(MIN);
    expect(await s.pollOnce()).toBe(1);
    expect(fired).toEqual(['d1']);
    expect(await doc('m-fail', 'd1')).toMatchObject({ status: 'fired', attempts: 2 });
  });

  it('retries a saga deadline without saga state, then drops it past the bound', async () => {
    // The transfer saga's deadline for a transfer whose state write never landed: each failed
    // fire moves dueAt, yet the bound (overdue by more than the 5 min timeout) is reached.
    const { c, store, scheduler } = setup('transfer-saga');
    const deps = {
      db,
      module: transferSaga,
      settings: {},
      logger: silentLogger(),
      signal: new AbortController().signal,
      now: c.now,
      physical: (name: string) => name,
    };
    const s = scheduler('a', {
      fire: async (d) => {
        const { ctx } = buildContext(deps, undefined, {
          kind: 'event',
          eventId: `deadline:${d.id}`,
        });
        await transferSaga.onDeadline?.(d, ctx);
      },
    });
    const payload = { kind: 'credit', attempt: 1 };
    await store.schedule('transfer-saga', sagaDeadline('T9:credit:1', 'T9', c.now(), payload));
    const dueTimes: number[] = [];
    for (let round = 0; round < 10; round++) {
      expect(await s.pollOnce()).toBe(1);
      const d = await doc('transfer-saga', 'T9:credit:1');
      if (d?.status !== 'pending') break;
      expect(d.lastError).toMatch(/found no saga state for T9/);
      dueTimes.push(d.dueAt.getTime() - T0);
      c.advance(d.dueAt.getTime() - c.now().getTime());
    }
    // Due again a minute after each failure (the retry delay is capped at a minute here).
    expect(dueTimes).toEqual([1, 2, 3, 4, 5, 6].map((m) => m * MIN));
    expect(await doc('transfer-saga', 'T9:credit:1')).toMatchObject({
      status: 'fired',
      attempts: 7,
      firedAt: new Date(T0 + 6 * MIN),
    });
  });

  it('starts and stops idempotently; stop waits for the handler in flight', async () => {
    const { store, scheduler } = setup('m-life');
    await store.schedule('m-life', deadline('d1', 0));
    let release: () => void = () => undefined;
    let started = false;
    const s = scheduler('a', {
      fire: () => {
        started = true;
        return new Promise<void>((r) => (release = r));
      },
    });
    const p1 = s.start();
    expect(s.start()).toBe(p1);
    await p1;
    await waitFor(() => started, { what: 'the handler to start' });
    let stopped = false;
    const stopping = s.stop().then(() => (stopped = true));
    expect((await doc('m-life', 'd1'))?.status).toBe('firing');
    expect(stopped).toBe(false);
    release();
    await stopping;
    await s.stop();
    expect(await doc('m-life', 'd1')).toMatchObject({ status: 'fired' });
    await expect(s.start()).rejects.toThrow(/stopped/);
  });

  it('follows a changing module set (the modules this instance owns)', async () => {
    const { c, store, fired } = setup('m-owned');
    await store.schedule('m-owned', deadline('d1', 0));
    let owned: string[] = [];
    const s = createDeadlineScheduler({
      db,
      now: c.now,
      pollMs: 5,
      modules: () => owned,
      logger: silentLogger(),
      fire: (_m, d) => Promise.resolve(void fired.push(d.id)),
    });
    expect(await s.pollOnce()).toBe(0);
    owned = ['m-owned'];
    expect(await s.pollOnce()).toBe(1);
    expect(fired).toEqual(['d1']);
  });

  const bad: [string, Deadline, RegExp][] = [
    ['no id', { ...deadline('x', 0), id: '' }, /no id/],
    ['no key', { ...deadline('x', 0), key: '' }, /no key/],
    ['an invalid due time', { ...deadline('x', 0), dueAt: new Date('nope') }, /invalid dueAt/],
    ['a payload that is no object', { ...deadline('x', 0), payload: [] as never }, /payload/],
  ];
  it.each(bad)('refuses a deadline with %s', async (_what, d, message) => {
    const { store } = setup('m-bad');
    const err: unknown = await store.schedule('m-bad', d).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProjectordError);
    expect((err as ProjectordError).code).toBe('DEADLINE_INVALID');
    expect((err as Error).message).toMatch(message);
    expect(await doc('m-bad', 'x')).toBeNull();
  });
});
