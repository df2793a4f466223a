import { Timestamp } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  clusterTimeOfToken,
  minPosition,
  samePosition,
  toPosition,
} from '../../src/checkpoint/position.js';

const ts = (t: number, i: number) => new Timestamp({ t, i });

describe('the stream start of modules standing inside one transaction (tied cluster times)', () => {
  // A transfer's debit and credit, written in one transaction: one cluster time, two tokens.
  const debit = toPosition({ _data: '8263A1B2C3000000012B0229' }, ts(1671545539, 1));
  const credit = toPosition({ _data: '8263A1B2C3000000012B022A' }, ts(1671545539, 1));

  it('starts token-less at that time, whichever module comes first', () => {
    for (const order of [
      [debit, credit],
      [credit, debit],
    ]) {
      const start = minPosition(order);
      expect(start?.token).toBeNull();
      expect(start?.clusterTime.equals(ts(1671545539, 1))).toBe(true);
    }
  });

  it('keeps the token when every module stands at the very same event', () => {
    const again = toPosition({ _data: '8263A1B2C3000000012B0229' }, ts(1671545539, 1));
    expect(minPosition([debit, again])).toBe(debit);
    expect(samePosition(debit, again)).toBe(true);
    expect(samePosition(debit, credit)).toBe(false);
  });

  it('an earlier time still wins outright, token and all', () => {
    const before = toPosition({ _data: '8263A1B2C2000000042B0229' }, ts(1671545538, 4));
    expect(minPosition([debit, before, credit])).toBe(before);
  });
});

describe('the cluster time inside a resume token', () => {
  it('reads a real server token (0x82, t and i big-endian)', () => {
    // Example token of MongoDB 5.0 (t 1630438675, i 1), as decoded by MongoDB's own tools.
    const token = {
      _data:
        '82612E8513000000012B022C0100296E5A1004A5093ABB38FE4B9EA67F01BB1A96D812463C5F6964003C5F5F5F78000004',
    };
    expect(clusterTimeOfToken(token)?.equals(ts(1630438675, 1))).toBe(true);
  });

  it('reads a post-batch (high-water-mark) token, which has no document key', () => {
    expect(
      clusterTimeOfToken({ _data: '8263A1B2C30000000A0128' })?.equals(ts(0x63a1b2c3, 10)),
    ).toBe(true);
  });

  it("reads the embedded fallback's token (the timestamp's 8 bytes alone)", () => {
    expect(clusterTimeOfToken({ _data: '6b17406700000002' })?.equals(ts(0x6b174067, 2))).toBe(true);
  });

  it('gives nothing for a token of another shape', () => {
    for (const bad of [null, undefined, {}, { _data: 42 }, { _data: 'zz' }, { _data: '81abc' }]) {
      expect(clusterTimeOfToken(bad)).toBeUndefined();
    }
  });
});
