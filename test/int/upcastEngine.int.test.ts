import { ObjectId, type Document } from 'mongodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import bankUpcasters from '../../projections/upcasters.js';
import { eventStore } from '../../src/events/eventStore.js';
import type { EventData } from '../../src/events/types.js';
import { defineProjection, defineUpcaster } from '../../src/index.js';
import { createDaemon, type Daemon } from '../../src/lifecycle/daemon.js';
import { silentLogger } from '../../src/observability/logger.js';
import { engineTestConfig } from '../helpers/engine.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';

/**
 * Upcasting through the engine (DESIGN.md "upcast"; DOMAIN.md "Old schema versions"): a module
 * must only ever see the current schema of an event type, whether the event was in event_store
 * before the daemon started (catch-up scan) or arrives on the change stream. The bank's own
 * FundsDebited 1.0 → 2.0, and a 1.0 → 2.0 → 3.0 chain of the test's whose steps only give the
 * expected result when run in order, each exactly once.
 */
interface Seen {
  eventType: string;
  eventVersion: string;
  eventData: EventData;
}

/** 2.0 doubles `n`; 3.0 adds one to the doubled value: out of order, `total` is wrong or NaN. */
const chainUpcasters = [
  defineUpcaster<{ n: number; steps?: string[] }>('ChainEvent', '1.0', '2.0', (d) => ({
    ...d,
    doubled: d.n * 2,
    steps: [...(d.steps ?? []), '1.0->2.0'],
  })),
  defineUpcaster<{ doubled: number; steps: string[] }>('ChainEvent', '2.0', '3.0', (d) => ({
    ...d,
    total: d.doubled + 1,
    steps: [...d.steps, '2.0->3.0'],
  })),
];

function rawEvent(
  aggregateId: string,
  version: number,
  eventType: string,
  eventVersion: string,
  eventData: Document,
): Document {
  const at = new Date();
  return {
    eventId: new ObjectId(),
    aggregateId,
    aggregateType: 'BankAccount',
    eventType,
    eventVersion,
    version,
    eventTimestamp: at,
    storedAt: at,
    commandId: new ObjectId(),
    eventData,
    eventMetadata: { sourceIp: '10.0.0.9' },
  };
}

const opened = (id: string) =>
  rawEvent(id, 1, 'AccountCreated', '1.0', {
    accountNumber: `NO-${id}`,
    accountHolder: `Holder ${id}`,
    accountType: 'checking',
    initialBalance: 500,
    currency: 'USD',
    createdBy: 'upcast-test',
  });

/** A FundsDebited written before fees existed: no feeAmount, no exchangeRate. */
const legacyDebit = (id: string, version: number, transferId: string) =>
  rawEvent(id, version, 'FundsDebited', '1.0', {
    transferId,
    amount: 40,
    currency: 'USD',
    toAccountId: 'elsewhere',
    reference: `ref-${transferId}`,
    description: 'legacy debit',
    debitedBy: 'upcast-test',
    transferType: 'outbound',
  });

describe('upcasters through the engine', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  let daemon: Daemon | undefined;
  const seen = new Map<string, Seen>();
  const recorder = defineProjection({
    name: 'upcast-recorder',
    version: 1,
    handles: ['AccountCreated', 'FundsDebited', 'ChainEvent'],
    collections: ['upcast_recorder_view'],
    apply(event) {
      // Kept in memory: what the handler received is the point, not what it would write.
      seen.set(`${event.aggregateId}@${event.version}`, {
        eventType: event.eventType,
        eventVersion: event.eventVersion,
        eventData: structuredClone(event.eventData),
      });
    },
  });

  beforeAll(async () => {
    ctx = await useTestDb('upcast');
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  /** Starts the engine with the bank's and the chain's upcasters; resolves once it is live. */
  async function start(): Promise<Daemon> {
    let opened = false;
    const d = createDaemon({
      db: ctx.db,
      config: engineTestConfig,
      modules: [recorder],
      upcasters: [...bankUpcasters, ...chainUpcasters],
      logger: silentLogger(),
      hooks: { onStreamOpen: () => (opened = true) },
    });
    daemon = d;
    await d.start();
    await waitFor(() => opened, { what: 'the change stream to open' });
    return d;
  }
  const seenOf = (aggregateId: string, version: number) =>
    waitFor(() => seen.get(`${aggregateId}@${version}`), {
      timeoutMs: 30_000,
      what: `the recorder to receive ${aggregateId} version ${version}`,
    });

  it('brings stored and live events to the current version, chains in order', async () => {
    await eventStore(ctx.db).insertMany([
      opened('acc-old'),
      legacyDebit('acc-old', 2, 't-stored'),
      rawEvent('chain-old', 1, 'ChainEvent', '1.0', { n: 5 }),
      rawEvent('chain-old', 2, 'ChainEvent', '2.0', { n: 7, doubled: 100, steps: ['producer'] }),
      rawEvent('chain-old', 3, 'ChainEvent', '3.0', { n: 1, doubled: 2, total: 42, steps: [] }),
    ]);
    await start();

    // Catch-up: present before the start.
    expect(await seenOf('acc-old', 2)).toEqual({
      eventType: 'FundsDebited',
      eventVersion: '2.0',
      eventData: {
        transferId: 't-stored',
        amount: 40,
        currency: 'USD',
        toAccountId: 'elsewhere',
        reference: 'ref-t-stored',
        description: 'legacy debit',
        debitedBy: 'upcast-test',
        transferType: 'outbound',
        feeAmount: 0,
        exchangeRate: 1,
      },
    });
    // An event type without upcasters passes through as stored.
    expect(await seenOf('acc-old', 1)).toMatchObject({
      eventType: 'AccountCreated',
      eventVersion: '1.0',
    });
    expect(await seenOf('chain-old', 1)).toEqual({
      eventType: 'ChainEvent',
      eventVersion: '3.0',
      eventData: { n: 5, doubled: 10, total: 11, steps: ['1.0->2.0', '2.0->3.0'] },
    });
    // Stored at 2.0: only the second step runs.
    expect(await seenOf('chain-old', 2)).toEqual({
      eventType: 'ChainEvent',
      eventVersion: '3.0',
      eventData: { n: 7, doubled: 100, total: 101, steps: ['producer', '2.0->3.0'] },
    });
    // Current already: untouched.
    expect(await seenOf('chain-old', 3)).toEqual({
      eventType: 'ChainEvent',
      eventVersion: '3.0',
      eventData: { n: 1, doubled: 2, total: 42, steps: [] },
    });

    // Live: appended while the daemon follows the change stream.
    await eventStore(ctx.db).insertMany([
      legacyDebit('acc-old', 3, 't-live'),
      opened('acc-new'),
      // A 1.0 event that already carries a fee keeps it (the upcaster only fills defaults).
      { ...legacyDebit('acc-new', 2, 't-fee'), eventData: { amount: 10, feeAmount: 2.5 } },
      rawEvent('chain-new', 1, 'ChainEvent', '1.0', { n: 20 }),
    ]);
    expect(await seenOf('acc-old', 3)).toMatchObject({
      eventVersion: '2.0',
      eventData: { transferId: 't-live', amount: 40, feeAmount: 0, exchangeRate: 1 },
    });
    expect(await seenOf('acc-new', 2)).toEqual({
      eventType: 'FundsDebited',
      eventVersion: '2.0',
      eventData: { amount: 10, feeAmount: 2.5, exchangeRate: 1 },
    });
    expect(await seenOf('chain-new', 1)).toEqual({
      eventType: 'ChainEvent',
      eventVersion: '3.0',
      eventData: { n: 20, doubled: 40, total: 41, steps: ['1.0->2.0', '2.0->3.0'] },
    });
    // Upcasting never writes back: event_store keeps the stored schema.
    const stored = await eventStore(ctx.db).findOne({ aggregateId: 'acc-old', version: 2 });
    expect(stored).toMatchObject({ eventVersion: '1.0' });
    expect(stored?.eventData).not.toHaveProperty('feeAmount');
  });
});
