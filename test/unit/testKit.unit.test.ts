import { describe, expect, it } from 'vitest';
import { defineUpcaster } from '../../src/index.js';
import { ProjectordError } from '../../src/lib/errors.js';
import {
  DeadLetterError,
  eventStream,
  runModule,
  testModules,
} from '../../src/modules/testing/index.js';
import accountActivity, {
  ACTIVITY,
  ACTIVITY_LOG,
} from '../fixtures/modules/example/account-activity.js';
import largeDebitHold, { HOLDS } from '../fixtures/modules/example/large-debit-hold.js';

/**
 * The module test kit (`projectord/testing`) in memory, on docs/MODULES.md's example modules:
 * documents, appends, deadlines, dead letters, upcasters, order, and its own bad input. The same
 * runs against a server, compared document for document, are in testKitBackends.int.test.ts.
 */
const NOW = new Date('2025-06-01T00:00:00Z');
const account = () => eventStream('acc-1', { aggregateType: 'BankAccount' });

describe('test kit: a projection', () => {
  it('returns the documents the daemon would write, bookkeeping included', async () => {
    const a = account();
    const opened = a('AccountCreated', {});
    const debit = a('FundsDebited', { amount: 30 });
    const { docs } = await runModule(accountActivity, [opened, debit], { now: NOW });
    expect(docs[ACTIVITY]).toEqual([
      {
        _id: 'acc-1',
        openedAt: opened.eventTimestamp,
        debited: 30,
        credited: 0,
        movements: 1,
        lastMovementAt: debit.eventTimestamp,
        updatedAt: NOW,
        version: 2,
      },
    ]);
    expect(docs[ACTIVITY_LOG]).toEqual([
      { _id: 'acc-1:2', accountId: 'acc-1', kind: 'debit', amount: 30, at: debit.eventTimestamp },
    ]);
  });

  it('applies a redelivered event once, and repairs a gap from the store in version order', async () => {
    const a = account();
    const [v1, v2, v3] = [
      a('AccountCreated', {}),
      a('FundsDebited', { amount: 1 }),
      a('FundsCredited', { amount: 5 }),
    ];
    // v2 arrives after v3 (a gap: v2 is fetched first) and then again (a duplicate).
    const { docs } = await runModule(accountActivity, [v1, v3, v2, v3], { now: NOW });
    expect(docs[ACTIVITY]?.[0]).toMatchObject({
      debited: 1,
      credited: 5,
      movements: 2,
      version: 3,
    });
    expect(docs[ACTIVITY_LOG]).toHaveLength(2);
  });

  it('upcasts before the module sees an event', async () => {
    const a = eventStream('acc-1', { eventVersion: '1.0' });
    const upcasters = [
      defineUpcaster('FundsDebited', '1.0', '2.0', (d) => ({
        ...d,
        amount: Number(d.cents) / 100,
      })),
    ];
    const { docs } = await runModule(
      accountActivity,
      [a('AccountCreated', {}), a('FundsDebited', { cents: 1234 })],
      { upcasters },
    );
    expect(docs[ACTIVITY]?.[0]?.debited).toBe(12.34);
  });
});

describe('test kit: a reaction', () => {
  it('returns appended events and deadlines, and fires them when the clock moves', async () => {
    const kit = await testModules(largeDebitHold, {
      now: NOW,
      config: { modules: { settings: { 'large-debit-hold': { limit: 25_000 } } } },
    });
    try {
      const a = account();
      const first = await kit.run([a('AccountCreated', {}), a('FundsDebited', { amount: 30_000 })]);
      expect(first.appended).toMatchObject([
        {
          aggregateId: 'acc-1',
          eventType: 'LargeDebitHeld',
          version: 3,
          eventData: { debitEventId: 'acc-1:2', amount: 30_000 },
          eventMetadata: { causationId: 'acc-1:2', producedBy: 'projectord:large-debit-hold' },
        },
      ]);
      expect(first.deadlines).toEqual([
        {
          module: 'large-debit-hold',
          id: 'release:acc-1:2',
          key: 'acc-1',
          dueAt: new Date(NOW.getTime() + 24 * 3600_000),
          payload: { debitEventId: 'acc-1:2', accountId: 'acc-1', aggregateType: 'BankAccount' },
          status: 'pending',
        },
      ]);
      expect(first.docs[HOLDS]?.[0]).toMatchObject({ _id: 'acc-1:2', state: 'held' });

      expect((await kit.advance(23 * 3600_000)).appended).toHaveLength(1);
      const later = await kit.advance(3600_000);
      expect(later.appended.map((e) => [e.eventType, e.version])).toEqual([
        ['LargeDebitHeld', 3],
        ['LargeDebitReleased', 4],
      ]);
      expect(later.deadlines[0]?.status).toBe('fired');
      expect(later.docs[HOLDS]?.[0]).toMatchObject({ state: 'released' });
    } finally {
      await kit.close();
    }
  });
});

describe('test kit: bad input gets the error the daemon would dead-letter with', () => {
  it('a malformed envelope: the field the validator names', async () => {
    const a = account();
    const bad = a('FundsDebited', { amount: 1 }, { version: 'two' });
    const err = await runModule(accountActivity, [bad]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadLetterError);
    expect((err as DeadLetterError).error).toEqual({
      message: 'version must be a positive integer (got a string)',
      field: 'version',
    });
    expect((err as DeadLetterError).deadLetters[0]).toMatchObject({ status: 'invalid' });
  });

  it('a value the handler refuses: its error and field, the key parked, what follows waiting', async () => {
    const a = account();
    const { docs, deadLetters } = await runModule(
      accountActivity,
      [
        a('AccountCreated', {}),
        a('FundsDebited', { amount: '12' }),
        a('FundsCredited', { amount: 1 }),
      ],
      { deadLetters: 'return' },
    );
    expect(deadLetters).toMatchObject([
      {
        module: 'account-activity',
        eventId: 'acc-1:2',
        status: 'parked',
        attempts: 1,
        error: {
          message: 'eventData.amount must be a number ≥ 0, got "12"',
          field: 'eventData.amount',
        },
      },
      { eventId: 'acc-1:3', status: 'waiting' },
    ]);
    expect(docs[ACTIVITY]?.[0]).toMatchObject({ movements: 0, version: 1 });
  });

  it('a handler that keeps failing: retried as often as the daemon retries', async () => {
    const flaky = {
      ...accountActivity,
      name: 'flaky',
      apply: () => Promise.reject(new Error('down')),
    };
    const err = await runModule(flaky, [account()('AccountCreated', {})], {
      config: { retry: { maxAttempts: 3 } },
    }).catch((e: unknown) => e);
    expect((err as DeadLetterError).deadLetters).toMatchObject([
      { status: 'parked', attempts: 3, error: { message: 'down' } },
    ]);
  });

  it('a malformed module or config: the loader’s and the config’s errors', async () => {
    const noHandles = { ...accountActivity, handles: [] };
    await expect(runModule(noHandles, [])).rejects.toMatchObject({ code: 'MODULE_INVALID' });
    const err = await runModule(accountActivity, [], {
      config: { retry: { maxAttempts: 'x' } } as never,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProjectordError);
    expect((err as ProjectordError).code).toBe('CONFIG_INVALID');
    expect((err as Error).message).toContain('retry.maxAttempts');
  });
});
