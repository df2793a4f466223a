import { describe, expect, it } from 'vitest';
import { auditStreams, isClean } from '../../src/simulate/streamAudit.js';

const ev = (aggregateId: string, version: number, eventType: string, eventData = {}) => ({
  aggregateId,
  version,
  eventType,
  eventData,
});

describe('stream audit', () => {
  const good = [
    ev('a', 1, 'AccountCreated', { initialBalance: 100 }),
    ev('a', 2, 'FundsDebited', { amount: 99.5, feeAmount: 0.5 }),
    ev('a', 3, 'FundsCredited', { amount: 10 }),
    ev('a', 4, 'AccountFrozen'),
    ev('a', 5, 'FundsCredited', { amount: 1 }),
    ev('b', 1, 'AccountCreated'),
  ];

  it('passes clean streams, in any order', () => {
    const audit = auditStreams([...good].reverse());
    expect(audit).toMatchObject({ aggregates: 2, events: 6 });
    expect(isClean(audit)).toBe(true);
  });

  it('reports gaps and repeated versions', () => {
    const audit = auditStreams([...good, ev('b', 3, 'FundsCredited'), ev('a', 5, 'AccountFrozen')]);
    expect(audit.gaps).toEqual(['a: versions 1,2,3,4,5,5', 'b: versions 1,3']);
    expect(isClean(audit)).toBe(false);
  });

  it('reports a debit after a freeze', () => {
    const audit = auditStreams([...good, ev('a', 6, 'FundsDebited', { amount: 1 })]);
    expect(audit.debitsWhileFrozen).toEqual(['a@6']);
  });

  it('reports an overdraft, counting the fee', () => {
    const audit = auditStreams([
      ev('c', 1, 'AccountCreated', { initialBalance: 10 }),
      ev('c', 2, 'FundsDebited', { amount: 10, feeAmount: 0.01 }),
    ]);
    expect(audit.overdrafts).toEqual(['c@2: -0.01']);
  });

  it('reports a missing or repeated AccountCreated', () => {
    const audit = auditStreams([
      ev('d', 1, 'FundsCredited', { amount: 1 }),
      ev('e', 1, 'AccountCreated'),
      ev('e', 2, 'AccountCreated'),
    ]);
    expect(audit.creations).toEqual([
      'd: 0 AccountCreated, first is FundsCredited',
      'e: 2 AccountCreated, first is AccountCreated',
    ]);
  });
});
