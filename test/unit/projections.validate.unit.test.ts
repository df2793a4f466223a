import { describe, expect, it } from 'vitest';
import {
  amountField,
  EventValidationError,
  isEventValidationError,
  MAX_AMOUNT,
  optionalDateField,
  optionalTextField,
  rateField,
  textField,
} from '../../projections/lib/validate.js';

function fails(fn: () => unknown): EventValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EventValidationError);
    return e as EventValidationError;
  }
  throw new Error('expected an EventValidationError');
}

describe('event field validation', () => {
  it('accepts amounts from 0 to 1e12', () => {
    expect(amountField({ amount: 0 }, 'amount')).toBe(0);
    expect(amountField({ amount: 12.34 }, 'amount')).toBe(12.34);
    expect(amountField({ amount: MAX_AMOUNT }, 'amount')).toBe(1e12);
    expect(amountField({}, 'feeAmount', 0)).toBe(0);
    expect(amountField({ feeAmount: null }, 'feeAmount', 0)).toBe(0);
  });

  it.each([
    ['missing', {}],
    ['null without a default', { amount: null }],
    ['a string', { amount: '10' }],
    ['negative', { amount: -1 }],
    ['above 1e12', { amount: 1e12 + 1 }],
    ['NaN', { amount: Number.NaN }],
    ['Infinity', { amount: Number.POSITIVE_INFINITY }],
    ['an operator object', { amount: { $gt: 0 } }],
    ['a boolean', { amount: true }],
  ])('rejects an amount that is %s, naming the field and the rule', (_what, data) => {
    const err = fails(() => amountField(data, 'amount'));
    expect(err.field).toBe('eventData.amount');
    expect(err.code).toBe('EVENT_VALIDATION');
    expect(err.message).toMatch(
      /^eventData\.amount must be a finite number from 0 to 1000000000000; got /,
    );
    expect(err.message).toMatch(/dlq skip/);
  });

  it('reads only own properties, never inherited ones', () => {
    const data = Object.create({ amount: 5 }) as Record<string, unknown>;
    expect(fails(() => amountField(data, 'amount')).field).toBe('eventData.amount');
  });

  it('checks exchange rates: (0, 1e6], default 1', () => {
    expect(rateField({}, 'exchangeRate')).toBe(1);
    expect(rateField({ exchangeRate: 0.5 }, 'exchangeRate')).toBe(0.5);
    for (const bad of [0, -1, 1e6 + 1, '1', Number.NaN]) {
      expect(fails(() => rateField({ exchangeRate: bad }, 'exchangeRate')).field).toBe(
        'eventData.exchangeRate',
      );
    }
  });

  it('checks strings: required non-empty, optional may be absent or null', () => {
    expect(textField({ a: '{"$gt": ""}' }, 'a')).toBe('{"$gt": ""}');
    expect(optionalTextField({}, 'a')).toBeNull();
    expect(optionalTextField({ a: null }, 'a')).toBeNull();
    expect(optionalTextField({ a: '' }, 'a')).toBe('');
    for (const bad of [undefined, '', 1, { $ne: 1 }, ['x']]) {
      expect(fails(() => textField({ a: bad }, 'a')).message).toMatch(
        /^eventData\.a must be a non-empty string/,
      );
    }
    expect(fails(() => optionalTextField({ a: 1 }, 'a')).field).toBe('eventData.a');
  });

  it('checks dates: a Date or an ISO string, else the fallback when absent', () => {
    const fallback = new Date(0);
    const d = new Date('2025-01-02T03:04:05Z');
    expect(optionalDateField({ at: d }, 'at', fallback)).toBe(d);
    expect(optionalDateField({ at: '2025-01-02T03:04:05Z' }, 'at', fallback)).toEqual(d);
    expect(optionalDateField({}, 'at', fallback)).toBe(fallback);
    for (const bad of ['soon', 5, new Date(Number.NaN), {}]) {
      expect(fails(() => optionalDateField({ at: bad }, 'at', fallback)).field).toBe(
        'eventData.at',
      );
    }
  });

  it('describes the bad value without dumping it whole', () => {
    const long = 'x'.repeat(500);
    const err = fails(() => amountField({ amount: long }, 'amount'));
    expect(err.message.length).toBeLessThan(250);
  });

  it('recognises validation errors by name and field, also from another copy of the class', () => {
    expect(isEventValidationError(new EventValidationError('eventData.x', 'must be', 1))).toBe(
      true,
    );
    const foreign = Object.assign(new Error('x'), { name: 'EventValidationError', field: 'f' });
    expect(isEventValidationError(foreign)).toBe(true);
    expect(isEventValidationError(new Error('x'))).toBe(false);
    expect(isEventValidationError({ name: 'EventValidationError', field: 'f' })).toBe(false);
  });
});
