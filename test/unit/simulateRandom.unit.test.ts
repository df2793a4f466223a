import { describe, expect, it } from 'vitest';
import { createRandom, MAX_SEED } from '../../src/simulate/random.js';

const draws = (seed: number, n = 1000) => {
  const rng = createRandom(seed);
  return Array.from({ length: n }, () => rng.next());
};

describe('seeded random', () => {
  it('repeats the same sequence for the same seed', () => {
    expect(draws(42)).toEqual(draws(42));
    expect(draws(0)).toEqual(draws(0));
    expect(draws(MAX_SEED)).toEqual(draws(MAX_SEED));
  });

  it('gives different sequences for different seeds', () => {
    expect(draws(1)).not.toEqual(draws(2));
    expect(draws(42).slice(0, 5)).not.toEqual(draws(43).slice(0, 5));
  });

  it('draws floats in [0, 1) that spread over the interval', () => {
    const values = draws(7, 10_000);
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean).toBeGreaterThan(0.47);
    expect(mean).toBeLessThan(0.53);
    const buckets = new Array<number>(10).fill(0);
    for (const v of values) buckets[Math.floor(v * 10)]! += 1;
    for (const b of buckets) expect(b).toBeGreaterThan(850);
  });

  it('int covers both ends of an inclusive range and nothing outside', () => {
    const rng = createRandom(3);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(rng.int(-2, 2));
    expect([...seen].sort()).toEqual([-1, -2, 0, 1, 2]);
    expect(() => rng.int(3, 2)).toThrow(RangeError);
  });

  it('weighted never picks a zero weight and follows the proportions', () => {
    const rng = createRandom(11);
    const counts = { a: 0, b: 0, never: 0 };
    for (let i = 0; i < 10_000; i++) counts[rng.weighted({ a: 3, b: 1, never: 0 })] += 1;
    expect(counts.never).toBe(0);
    expect(counts.a / counts.b).toBeGreaterThan(2.6);
    expect(counts.a / counts.b).toBeLessThan(3.4);
    expect(() => rng.weighted({ x: 0 })).toThrow(RangeError);
  });

  it('pick rejects an empty list', () => {
    expect(() => createRandom(1).pick([])).toThrow(RangeError);
  });

  it('rejects seeds that are not uint32', () => {
    for (const bad of [-1, 1.5, MAX_SEED + 1, Number.NaN]) {
      expect(() => createRandom(bad)).toThrow(RangeError);
    }
  });
});
