import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  diffDocuments,
  MISSING,
  numbersEqual,
  showValue,
  valuesEqual,
} from '../../src/replay/diff.js';
import { ownedBy, escapeRegex } from '../../src/replay/ownership.js';

describe('diffDocuments (verify)', () => {
  it('finds nothing between equal documents, whatever the key order', () => {
    const at = new Date('2025-03-01T00:00:00Z');
    expect(
      diffDocuments(
        { _id: 'a', n: 1, at, nested: { x: [1, 2], y: 'z' } },
        { nested: { y: 'z', x: [1, 2] }, at: new Date(at.getTime()), n: 1, _id: 'a' },
      ),
    ).toEqual([]);
  });

  it('names a changed field by its dotted path, with both values', () => {
    expect(
      diffDocuments(
        { _id: 'a', balance: 150, steps: { aml: { status: 'passed' } } },
        { _id: 'a', balance: 100, steps: { aml: { status: 'failed' } } },
      ),
    ).toEqual([
      { field: 'balance', stored: 150, expected: 100 },
      { field: 'steps.aml.status', stored: 'passed', expected: 'failed' },
    ]);
  });

  it('reports a field missing on either side', () => {
    expect(diffDocuments({ _id: 'a', extra: 1 }, { _id: 'a', wanted: null })).toEqual([
      { field: 'extra', stored: 1, expected: MISSING },
      { field: 'wanted', stored: MISSING, expected: null },
    ]);
  });

  it('ignores the engine’s markers and the module’s verifyIgnore (and their sub-paths)', () => {
    expect(
      diffDocuments(
        { _id: 'a', applied: { x: 3 }, _appliedEvents: ['e1'], lastUpdated: 1, meta: { at: 1 } },
        { _id: 'a', applied: { y: 1 }, _appliedEvents: [], lastUpdated: 2, meta: { at: 2 } },
        ['lastUpdated', 'meta'],
      ),
    ).toEqual([]);
    expect(diffDocuments({ lastUpdated: 1 }, { lastUpdated: 2 })).toHaveLength(1);
  });

  it('compares arrays whole and in order', () => {
    expect(diffDocuments({ r: ['a', 'b'] }, { r: ['b', 'a'] })).toEqual([
      { field: 'r', stored: ['a', 'b'], expected: ['b', 'a'] },
    ]);
  });
});

describe('valuesEqual', () => {
  it('accepts float noise from a different summation order, not real differences', () => {
    expect(numbersEqual(0.1 + 0.2, 0.3)).toBe(true);
    expect(numbersEqual(1_000_000.01, 1_000_000.02)).toBe(false);
    expect(numbersEqual(0, 1e-6)).toBe(false);
  });

  it('compares dates by time and BSON values by type and content', () => {
    const id = new ObjectId();
    expect(valuesEqual(id, new ObjectId(id.toHexString()))).toBe(true);
    expect(valuesEqual(id, new ObjectId())).toBe(false);
    expect(valuesEqual(id, id.toHexString())).toBe(false);
    expect(valuesEqual(new Date(5), new Date(5))).toBe(true);
    expect(valuesEqual(new Date(5), 5)).toBe(false);
    expect(valuesEqual(null, undefined)).toBe(false);
  });

  it('renders values short and readable', () => {
    expect(showValue(MISSING)).toBe('(missing)');
    expect(showValue('x')).toBe('"x"');
    expect(showValue(new Date('2025-01-02T03:04:05Z'))).toBe('2025-01-02T03:04:05.000Z');
    expect(showValue({ a: 'x'.repeat(100) }).length).toBeLessThanOrEqual(60);
  });
});

describe('ownedBy (replay’s rule of which documents an aggregate owns)', () => {
  it('matches the _id, an `<id>:` prefix, accountId or aggregateId — values escaped', () => {
    const f = ownedBy(['acc.1']);
    expect(f).toEqual({
      $or: [
        { _id: { $in: ['acc.1'] } },
        { accountId: { $in: ['acc.1'] } },
        { aggregateId: { $in: ['acc.1'] } },
        { _id: { $regex: '^acc\\.1:' } },
      ],
    });
    const re = new RegExp(`^${escapeRegex('a+b(c)|$')}:`);
    expect(re.test('a+b(c)|$:2025-01-01')).toBe(true);
    expect(re.test('aab(c)|$:2025-01-01')).toBe(false);
  });
});
