import { describe, expect, it } from 'vitest';
import upcasters from '../../projections/upcasters.js';
import { createUpcasterRegistry, defineUpcaster } from '../../src/dispatch/upcast.js';
import type { EventData } from '../../src/events/types.js';

const v1: EventData = {
  transferId: 't-1',
  amount: 25,
  currency: 'USD',
  toAccountId: 'acc-2',
  reference: 'r',
  description: 'd',
  debitedBy: 'u',
  transferType: 'outbound',
};

/** Test-only: a 3.0 that renames `reference` to `paymentReference`. */
const toV3 = defineUpcaster<EventData, EventData>('FundsDebited', '2.0', '3.0', (data) => {
  const { reference, ...rest } = data;
  return { ...rest, paymentReference: reference };
});

describe('bank upcasters', () => {
  it('is a list with exactly the FundsDebited 1.0 → 2.0 step', () => {
    expect(Array.isArray(upcasters)).toBe(true);
    expect(upcasters.map((u) => [u.eventType, u.fromVersion, u.toVersion])).toEqual([
      ['FundsDebited', '1.0', '2.0'],
    ]);
  });

  it('adds feeAmount 0 and exchangeRate 1 and keeps every other field', () => {
    const out = createUpcasterRegistry(upcasters).upcast('FundsDebited', '1.0', v1);
    expect(out).toEqual({ version: '2.0', data: { ...v1, feeAmount: 0, exchangeRate: 1 } });
  });

  it('does not change the input object', () => {
    const input = { ...v1 };
    createUpcasterRegistry(upcasters).upcast('FundsDebited', '1.0', input);
    expect(input).toEqual(v1);
  });

  it('keeps a fee or rate a 1.0 event already carries', () => {
    const out = createUpcasterRegistry(upcasters).upcast('FundsDebited', '1.0', {
      ...v1,
      feeAmount: 3,
      exchangeRate: 0.9,
    });
    expect(out.data).toMatchObject({ feeAmount: 3, exchangeRate: 0.9 });
  });

  it('leaves current versions and other event types alone', () => {
    const registry = createUpcasterRegistry(upcasters);
    const v2 = { ...v1, feeAmount: 2, exchangeRate: 1.2 };
    expect(registry.upcast('FundsDebited', '2.0', v2)).toEqual({ version: '2.0', data: v2 });
    expect(registry.upcast('FundsCredited', '1.0', v1)).toEqual({ version: '1.0', data: v1 });
  });

  it('chains 1.0 → 2.0 → 3.0 with a later upcaster, in either registration order', () => {
    for (const list of [
      [...upcasters, toV3],
      [toV3, ...upcasters],
    ]) {
      const out = createUpcasterRegistry(list).upcast('FundsDebited', '1.0', v1);
      expect(out.version).toBe('3.0');
      expect(out.data).toEqual({
        transferId: 't-1',
        amount: 25,
        currency: 'USD',
        toAccountId: 'acc-2',
        paymentReference: 'r',
        description: 'd',
        debitedBy: 'u',
        transferType: 'outbound',
        feeAmount: 0,
        exchangeRate: 1,
      });
      expect(createUpcasterRegistry(list).upcast('FundsDebited', '2.0', v1).version).toBe('3.0');
    }
  });

  it('refuses a second 1.0 upcaster for FundsDebited beside the built-in one', () => {
    const again = defineUpcaster('FundsDebited', '1.0', '1.5', (d) => d);
    expect(() => createUpcasterRegistry([...upcasters, again])).toThrow(/Two upcasters/);
  });
});
