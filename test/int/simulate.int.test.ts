import type { Document } from 'mongodb';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { auditStreams } from '../../src/simulate/streamAudit.js';
import { SIMULATED_TYPES } from '../../src/simulate/summary.js';
import { mongoUri, useTestDb } from '../helpers/mongo.js';

/**
 * `projectord simulate --count 500` end to end against the run's MongoDB: exactly 500 events,
 * shaped as DOMAIN.md says, streams without gaps, and a summary line that adds up.
 */
describe('projectord simulate --count', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  let events: Document[] = [];
  let exitCode: number;
  let stdout = '';

  beforeAll(async () => {
    ctx = await useTestDb('sim_cli');
    const out = vi
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => {
        stdout += String(chunk);
        return true;
      });
    try {
      exitCode = await main([
        'node',
        'projectord',
        '--mongo-uri',
        mongoUri(),
        '--db',
        ctx.dbName,
        '--log-level',
        'warn',
        'simulate',
        '--count',
        '500',
        '--accounts',
        '12',
        '--seed',
        '7',
      ]);
    } finally {
      out.mockRestore();
    }
    events = await ctx.db.collection('event_store').find().toArray();
  });
  afterAll(() => vi.restoreAllMocks());

  it('exits 0, writes exactly 500 events and prints a one-line summary', () => {
    expect(exitCode).toBe(0);
    expect(events).toHaveLength(500);
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(stdout).toMatch(/^simulated 500 events in .* seed 7\): AccountCreated \d+/);
  });

  it('keeps every account stream at versions 1..n with one AccountCreated, no overdraft', () => {
    const audit = auditStreams(events);
    expect(audit.gaps).toEqual([]);
    expect(audit.creations.filter((c) => !c.includes('-missing-'))).toEqual([]);
    expect(audit.debitsWhileFrozen).toEqual([]);
    expect(audit.overdrafts).toEqual([]);
    expect(audit.aggregates).toBeGreaterThanOrEqual(12);
  });

  it('writes the DOMAIN.md envelope on every event', () => {
    for (const e of events) {
      expect(e.eventId).toBeInstanceOf(ObjectId);
      expect(e.commandId).toBeInstanceOf(ObjectId);
      expect(e.aggregateType).toBe('BankAccount');
      expect(e.eventTimestamp).toBeInstanceOf(Date);
      expect(e.storedAt).toBeInstanceOf(Date);
      expect(typeof e.version).toBe('number');
      expect(e.eventMetadata).toMatchObject({
        sourceIp: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/) as unknown,
        userAgent: expect.any(String) as unknown,
        correlationId: expect.any(String) as unknown,
        causationId: (e.commandId as ObjectId).toHexString(),
        regulatoryFlags: [],
        securityLevel: expect.any(String) as unknown,
      });
    }
    const types = new Set(events.map((e) => e.eventType as string));
    expect([...types].filter((t) => !(SIMULATED_TYPES as readonly string[]).includes(t))).toEqual(
      [],
    );
    for (const t of ['AccountCreated', 'FundsDebited', 'FundsCredited']) expect(types).toContain(t);
  });

  it('links a one-step transfer by transferId and correlationId, debit before credit', () => {
    const debits = new Map<string, Document>();
    for (const e of events) {
      if (e.eventType === 'FundsDebited')
        debits.set(String((e.eventData as Document).transferId), e);
    }
    const credits = events.filter((e) => e.eventType === 'FundsCredited');
    expect(credits.length).toBeGreaterThan(0);
    for (const credit of credits) {
      const data = credit.eventData as Document;
      const debit = debits.get(String(data.transferId));
      expect(debit, `debit of ${String(data.transferId)}`).toBeDefined();
      const d = debit!.eventData as Document;
      expect(d).toMatchObject({
        amount: data.amount as unknown,
        currency: data.currency as unknown,
        toAccountId: credit.aggregateId as unknown,
      });
      expect(data).toMatchObject({
        fromAccountId: debit!.aggregateId as unknown,
        transferType: 'inbound',
        feeAmount: 0,
      });
      expect(d.transferType).toBe('outbound');
      expect((credit.eventMetadata as Document).correlationId).toBe(data.transferId);
      expect((debit!.eventMetadata as Document).correlationId).toBe(data.transferId);
      expect(String(credit.commandId)).toBe(String(debit!.commandId));
      expect((credit.storedAt as Date).getTime()).toBeGreaterThanOrEqual(
        (debit!.storedAt as Date).getTime(),
      );
    }
  });

  it('writes FundsDebited "2.0" with fee and rate, "1.0" without', () => {
    const debits = events.filter((e) => e.eventType === 'FundsDebited');
    const legacy = debits.filter((e) => e.eventVersion === '1.0');
    const current = debits.filter((e) => e.eventVersion === '2.0');
    expect(legacy.length + current.length).toBe(debits.length);
    expect(legacy.length).toBeGreaterThan(0);
    for (const e of legacy) {
      expect(e.eventData).not.toHaveProperty('feeAmount');
      expect(e.eventData).not.toHaveProperty('exchangeRate');
    }
    for (const e of current) {
      expect(e.eventData).toMatchObject({
        feeAmount: expect.any(Number) as unknown,
        exchangeRate: expect.any(Number) as unknown,
      });
    }
  });

  it('reports initial deposits equal to what the AccountCreated events hold', () => {
    const deposits = events
      .filter((e) => e.eventType === 'AccountCreated')
      .reduce(
        (sum, e) => sum + Math.round(Number((e.eventData as Document).initialBalance) * 100),
        0,
      );
    expect(stdout).toContain(`initial deposits ${(deposits / 100).toFixed(2)}`);
  });
});
