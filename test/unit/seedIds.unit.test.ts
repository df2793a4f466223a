import { Decimal128, Double, Int32, Long, ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  amountField,
  EventValidationError,
  idField,
  metaIdOf,
  optionalIdField,
  rateField,
  sourceIpOf,
} from '../../projections/lib/validate.js';
import { validateEnvelope } from '../../src/dispatch/validate.js';
import { canonicalId, idMatch, sameId, storedForms } from '../../src/events/ids.js';
import type { ProjectorEvent } from '../../src/events/types.js';
import { matchesStreamFilter } from '../../src/lifecycle/fetcher.js';

/**
 * Ids and values as the seed article's command side stores them (DOMAIN.md "The event store"):
 * ObjectIds or strings for ids, one canonical form for both, numbers in BSON's own types,
 * metadata fields left undefined (stored as null), "1.0" versions. Each refusal names the field.
 */
const oid = ObjectId.createFromHexString('64b7f0c2a1b2c3d4e5f60718');
const hex = oid.toHexString();

function raw(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _id: new ObjectId(),
    eventId: new ObjectId(),
    aggregateId: oid,
    aggregateType: 'BankAccount',
    eventType: 'FundsDebited',
    eventVersion: '1.0',
    version: 3,
    eventTimestamp: new Date('2025-03-01T10:00:00Z'),
    storedAt: new Date('2025-03-01T10:00:00Z'),
    commandId: new ObjectId(),
    eventData: { transferId: new ObjectId(), amount: 12 },
    eventMetadata: {
      sourceIp: null,
      userAgent: null,
      correlationId: oid,
      causationId: null,
      regulatoryFlags: ['large_transaction'],
    },
    ...over,
  };
}

function event(over: Record<string, unknown> = {}): ProjectorEvent {
  const v = validateEnvelope(raw(over));
  if (!v.ok) throw new Error(v.message);
  return v.event;
}

function refusal(fn: () => unknown): EventValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EventValidationError);
    return e as EventValidationError;
  }
  throw new Error('expected an EventValidationError');
}

describe('canonical ids', () => {
  it('reads a string as itself and an ObjectId as its hex', () => {
    expect(canonicalId('acc-1')).toBe('acc-1');
    expect(canonicalId(oid)).toBe(hex);
    expect(sameId(oid, hex)).toBe(true);
    expect(sameId(oid, 'acc-1')).toBe(false);
    for (const bad of ['', 12, null, undefined, { $ne: null }, [hex]]) {
      expect(canonicalId(bad)).toBeUndefined();
    }
  });

  it('matches both stored forms of an id that may be an ObjectId, and only then', () => {
    expect(storedForms(hex)).toEqual([hex, oid]);
    expect(idMatch(hex)).toEqual({ $in: [hex, oid] });
    expect(idMatch('acc-1')).toEqual({ $eq: 'acc-1' });
    expect(idMatch(hex.toUpperCase())).toEqual({ $eq: hex.toUpperCase() });
    expect(idMatch('{"$gt": ""}')).toEqual({ $eq: '{"$gt": ""}' });
  });

  it('filters a stream in memory like the server: an ObjectId field matches its hex', () => {
    expect(
      matchesStreamFilter('FundsCredited', { transferId: oid }, { data: { transferId: hex } }),
    ).toBe(true);
    expect(
      matchesStreamFilter('FundsCredited', { transferId: 'x' }, { data: { transferId: hex } }),
    ).toBe(false);
  });
});

describe('the envelope of a seed-shaped event', () => {
  it('gives modules canonical ids and leaves metadata the command side left undefined out', () => {
    const r = raw();
    const e = event(r);
    expect(e.aggregateId).toBe(hex);
    expect(e.eventId).toBe((r.eventId as ObjectId).toHexString());
    expect(e.commandId).toBe((r.commandId as ObjectId).toHexString());
    expect(e.eventVersion).toBe('1.0');
    expect(e.eventMetadata).toEqual({ correlationId: hex, regulatoryFlags: ['large_transaction'] });
    expect(sourceIpOf(e)).toBeNull();
    expect(metaIdOf(e, 'causationId')).toBeNull();
  });

  it('reuses metadata that needs nothing changed', () => {
    const meta = { sourceIp: '10.0.0.1', correlationId: 'c-1' };
    expect(event({ eventMetadata: meta }).eventMetadata).toBe(meta);
  });

  it('reads a numeric eventVersion as the string the command side meant', () => {
    expect(event({ eventVersion: 1 }).eventVersion).toBe('1.0');
    expect(event({ eventVersion: 2.5 }).eventVersion).toBe('2.5');
    expect(event({ eventVersion: null }).eventVersion).toBe('1.0');
  });

  it.each([
    ['aggregateId', { aggregateId: 42 }, /aggregateId must be .*or an ObjectId \(got number 42\)/],
    ['aggregateId', { aggregateId: { $ne: null } }, /got an object/],
    ['eventVersion', { eventVersion: { major: 1 } }, /eventVersion must be a schema version/],
    ['eventVersion', { eventVersion: '' }, /eventVersion/],
    ['version', { version: '3' }, /version must be a positive integer \(got a string\)/],
    ['eventTimestamp', { eventTimestamp: 'yesterday', storedAt: undefined }, /eventTimestamp/],
  ])('refuses a bad %s, naming it', (field, over, message) => {
    const v = validateEnvelope(raw(over));
    expect(v).toMatchObject({ ok: false, field });
    expect(v.ok ? '' : v.message).toMatch(message);
  });
});

describe('payload ids and numbers', () => {
  it('reads an id field stored as an ObjectId or a string as one canonical id', () => {
    expect(idField({ transferId: oid }, 'transferId')).toBe(hex);
    expect(idField({ transferId: hex }, 'transferId')).toBe(hex);
    expect(optionalIdField({ debitedBy: undefined }, 'debitedBy')).toBeNull();
    expect(optionalIdField({ debitedBy: null }, 'debitedBy')).toBeNull();
    expect(optionalIdField({ debitedBy: oid }, 'debitedBy')).toBe(hex);
  });

  it.each([
    ['a number', { transferId: 7 }, 'number 7'],
    ['an empty string', { transferId: '' }, 'string ""'],
    ['missing', {}, 'nothing (missing)'],
    ['an operator object', { transferId: { $gt: '' } }, 'a value of type object'],
  ])('refuses a transferId that is %s, naming the field', (_, data, got) => {
    const e = refusal(() => idField(data, 'transferId'));
    expect(e.field).toBe('eventData.transferId');
    expect(e.message).toContain('must be a non-empty string or an ObjectId');
    expect(e.message).toContain(got);
  });

  it('reads amounts and rates stored as Decimal128, Long, Int32 or Double', () => {
    expect(amountField({ amount: Decimal128.fromString('1234.56') }, 'amount')).toBe(1234.56);
    expect(amountField({ amount: Long.fromNumber(500) }, 'amount')).toBe(500);
    expect(amountField({ amount: new Int32(7) }, 'amount')).toBe(7);
    expect(amountField({ amount: new Double(0.5) }, 'amount')).toBe(0.5);
    expect(rateField({ exchangeRate: Decimal128.fromString('1.1') }, 'exchangeRate')).toBe(1.1);
  });

  it('refuses a Decimal128 that is not a usable amount, saying what it was', () => {
    const e = refusal(() => amountField({ amount: Decimal128.fromString('NaN') }, 'amount'));
    expect(e.field).toBe('eventData.amount');
    expect(e.message).toContain('a Decimal128 NaN');
    expect(() => amountField({ amount: Decimal128.fromString('-5') }, 'amount')).toThrow(
      /eventData.amount must be a finite number from 0/,
    );
  });
});
