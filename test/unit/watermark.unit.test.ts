import { Timestamp } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  comparePositions,
  minPosition,
  positionFromStored,
  toPosition,
} from '../../src/checkpoint/position.js';
import { createWatermark } from '../../src/checkpoint/watermark.js';

describe('watermark', () => {
  it('never moves past unfinished work when later events finish first', () => {
    const w = createWatermark<string>();
    w.register(1, 'p1', false);
    w.register(2, 'p2', false);
    w.register(3, 'p3', false);
    w.finish(3);
    w.finish(2);
    expect(w.position()).toBeUndefined();
    w.finish(1);
    expect(w.position()).toBe('p3');
  });

  it('passes events the module does not handle only when nothing before them is pending', () => {
    const w = createWatermark<string>();
    w.register(1, 'p1', true);
    expect(w.position()).toBe('p1');
    w.register(2, 'p2', false);
    w.register(3, 'p3', true);
    expect(w.position()).toBe('p1');
    w.finish(2);
    expect(w.position()).toBe('p3');
    expect(w.pending).toBe(0);
  });

  it('survives a random completion order (property)', () => {
    const w = createWatermark<number>();
    const n = 2000;
    for (let s = 1; s <= n; s++) w.register(s, s, false);
    const order = Array.from({ length: n }, (_, i) => i + 1);
    let seed = 42;
    for (let i = order.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const j = seed % (i + 1);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    const done = new Set<number>();
    for (const s of order) {
      w.finish(s);
      done.add(s);
      let expected = 0;
      while (done.has(expected + 1)) expected++;
      expect(w.position() ?? 0).toBe(expected);
    }
    expect(w.take()).toBe(n);
  });

  it('rejects out-of-order registration', () => {
    const w = createWatermark<number>();
    w.register(5, 5, false);
    expect(() => w.register(4, 4, false)).toThrow(/registered after/);
  });
});

describe('positions', () => {
  const ts = (t: number, i: number) => new Timestamp({ t, i });
  it('orders by cluster time and prefers a token-less position on ties', () => {
    const a = toPosition({ _data: 'a' }, ts(10, 1));
    const b = toPosition({ _data: 'b' }, ts(10, 2));
    const c = toPosition(null, ts(10, 1));
    expect(comparePositions(a, b)).toBe(-1);
    expect(comparePositions(b, a)).toBe(1);
    expect(minPosition([b, a])).toBe(a);
    expect(minPosition([a, c])).toBe(c);
    expect(minPosition([])).toBeUndefined();
  });

  it('restores only well-formed stored positions', () => {
    expect(positionFromStored({ token: { _data: 'x' }, clusterTime: ts(1, 1) })?.token).toEqual({
      _data: 'x',
    });
    expect(positionFromStored({ token: { _data: 'x' }, clusterTime: 'nope' })).toBeUndefined();
  });
});

describe('watermark memory', () => {
  it('keeps one entry for a run of finished events behind a pending one', () => {
    const w = createWatermark<number>();
    w.register(1, 1, false);
    for (let s = 2; s <= 100_000; s++) w.register(s, s, true);
    w.register(100_001, 100_001, false);
    w.register(100_002, 100_002, true);
    expect(w.entries).toBe(4);
    expect(w.position()).toBeUndefined();
    w.finish(1);
    expect(w.position()).toBe(100_000);
    w.finish(100_001);
    expect(w.position()).toBe(100_002);
  });
});
