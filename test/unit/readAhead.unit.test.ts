import { describe, expect, it } from 'vitest';
import { readAhead } from '../../src/source/readAhead.js';

/** A source that records how far it was pulled and whether it was closed. */
function counting(items: number[], failAfter?: number) {
  const state = { pulled: 0, closed: false };
  async function* gen(): AsyncGenerator<number> {
    try {
      for (const n of items) {
        if (failAfter !== undefined && state.pulled === failAfter) throw new Error('cut');
        state.pulled++;
        yield await Promise.resolve(n);
      }
    } finally {
      state.closed = true;
    }
  }
  return { source: gen(), state };
}

describe('readAhead', () => {
  it('hands out every item in order and shows what waits behind each', async () => {
    const { source } = counting([1, 2, 3, 4]);
    const seen: number[] = [];
    const waiting: number[][] = [];
    for await (const n of readAhead(source, 10, (item, w) => waiting.push([item, ...w]))) {
      seen.push(n);
      await new Promise((r) => setImmediate(r)); // a slow consumer: the pump runs ahead
    }
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(waiting.map((w) => w[0])).toEqual([1, 2, 3, 4]);
    expect(waiting.at(-1)).toEqual([4]);
    expect(waiting.some((w) => w.length > 1)).toBe(true);
  });

  it('pulls at most `max` items ahead of a consumer that stops taking', async () => {
    const { source, state } = counting(Array.from({ length: 100 }, (_, i) => i));
    const it = readAhead(source, 5);
    expect((await it.next()).value).toBe(0);
    await new Promise((r) => setImmediate(r));
    // the one handed out, `max` waiting, and at most one more read in flight
    expect(state.pulled).toBeLessThanOrEqual(7);
    await it.return(undefined);
    expect(state.closed).toBe(true);
  });

  it('passes the items read before a failure, then the failure', async () => {
    const { source } = counting([1, 2, 3], 2);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const n of readAhead(source, 10)) seen.push(n);
      })(),
    ).rejects.toThrow('cut');
    expect(seen).toEqual([1, 2]);
  });
});
