import { describe, expect, it } from 'vitest';
import { defineProjection, type ProjectionContext } from '../../src/modules/types.js';
import type { ProjectorEvent } from '../../src/events/types.js';
import { createMemoryStore, eventStream } from '../helpers/memoryContext.js';

/** A module whose handler is the test's own function: exercises the memory context itself. */
function probe(fn: (event: ProjectorEvent, ctx: ProjectionContext) => Promise<void> | void) {
  return defineProjection({
    name: 'probe',
    version: 1,
    handles: ['E'],
    collections: ['c'],
    apply: fn,
  });
}

describe('memory projection context (the stand-in the projection tests rely on)', () => {
  it('guards upsert by version: an equal or older version changes nothing', async () => {
    const store = createMemoryStore();
    const next = eventStream('a');
    const m = probe((e, ctx) => ctx.upsert('c', 'x', { inc: { n: 1 }, set: { last: e.version } }));
    const e1 = next('E');
    const e2 = next('E');
    await store.applyAll(m, [e1, e2, e2, e1]);
    expect(store.get('c', 'x')).toEqual({ _id: 'x', n: 2, last: 2, version: 2 });
  });

  it('applies setOnInsert only when inserting, and max/min/push', async () => {
    const store = createMemoryStore();
    const next = eventStream('a');
    const m = probe((e, ctx) =>
      ctx.upsert('c', 'x', {
        setOnInsert: { first: e.version },
        max: { hi: e.version * 10 },
        min: { lo: e.version * 10 },
        push: { seen: e.version },
      }),
    );
    await store.applyAll(m, [next('E'), next('E')]);
    expect(store.get('c', 'x')).toEqual({
      _id: 'x',
      first: 1,
      hi: 20,
      lo: 10,
      seen: [1, 2],
      version: 2,
    });
  });

  it('treats insertOnce of an existing _id and a repeated incrementOnce as already applied', async () => {
    const store = createMemoryStore();
    const next = eventStream('a');
    const m = probe((e, ctx) => {
      ctx.insertOnce('c', { _id: 'row', v: e.version });
      ctx.incrementOnce('c', 'total', { n: 1 });
    });
    const e1 = next('E');
    await store.applyAll(m, [e1, e1, next('E')]);
    expect(store.get('c', 'row')).toEqual({ _id: 'row', v: 1 });
    expect(store.get('c', 'total')).toEqual({ _id: 'total', n: 2, applied: { a: 2 } });
  });

  it('hides an event its own writes, and a throwing handler writes nothing', async () => {
    const store = createMemoryStore();
    const next = eventStream('a');
    const seen: unknown[] = [];
    const m = probe(async (e, ctx) => {
      ctx.upsert('c', 'x', { set: { v: e.version } });
      seen.push(await ctx.findOne('c', 'x'));
      if (e.eventData.fail === true) throw new Error('boom');
    });
    await store.apply(m, next('E'));
    await expect(store.apply(m, next('E', { fail: true }))).rejects.toThrow('boom');
    expect(seen).toEqual([null, { _id: 'x', v: 1, version: 1 }]);
    expect(store.get('c', 'x')).toEqual({ _id: 'x', v: 1, version: 1 });
  });

  it('refuses undeclared collections, unhandled types and conflicting updates', async () => {
    const store = createMemoryStore();
    const next = eventStream('a');
    await expect(
      store.apply(
        probe((_e, ctx) => ctx.upsert('other', 'x', {})),
        next('E'),
      ),
    ).rejects.toThrow(/undeclared collection "other"/);
    await expect(
      store.apply(
        probe(async (_e, ctx) => void (await ctx.findOne('other', 'x'))),
        next('E'),
      ),
    ).rejects.toThrow(/undeclared/);
    await expect(
      store.apply(
        probe(() => undefined),
        next('F'),
      ),
    ).rejects.toThrow(/does not handle F/);
    await expect(
      store.apply(
        probe((_e, ctx) => ctx.upsert('c', 'x', { set: { a: 1 }, inc: { a: 1 } })),
        next('E'),
      ),
    ).rejects.toThrow(/conflict/);
    await expect(
      store.apply(
        probe((_e, ctx) => ctx.upsert('c', 'x', { inc: { version: 1 } })),
        next('E'),
      ),
    ).rejects.toThrow(/conflict/);
  });

  it('finds by plain equality, sorted and limited', async () => {
    const store = createMemoryStore();
    const next = eventStream('a');
    const found: unknown[] = [];
    const m = probe(async (e, ctx) => {
      if (e.version < 4)
        ctx.insertOnce('c', { _id: `r${e.version}`, k: e.version % 2, v: e.version });
      else found.push(await ctx.find('c', { k: 1 }, { sort: { v: -1 }, limit: 1 }));
    });
    await store.applyAll(m, [next('E'), next('E'), next('E'), next('E')]);
    expect(found).toEqual([[{ _id: 'r3', k: 1, v: 3 }]]);
  });
});
