import type { Document } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { appendEvent } from '../../src/events/eventStore.js';
import { createSimulator } from '../../src/simulate/simulator.js';
import { auditStreams } from '../../src/simulate/streamAudit.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';

/**
 * Several writers on one event store: simulators sharing accounts, and a "reaction" freezing
 * accounts under a running simulator. Optimistic concurrency must keep every stream gap-free,
 * every account created once, and no frozen account debited.
 */
describe('simulate: concurrent writers', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  beforeAll(async () => {
    ctx = await useTestDb('sim_occ');
  });

  const streamsOf = async (prefix: string) =>
    (await ctx.db.collection('event_store').find().toArray()).filter((d: Document) =>
      String(d.aggregateId).startsWith(`${prefix}-`),
    );

  it('two simulators on the same accounts do not collide', async () => {
    // The same seed makes both open the same accounts and pick the same payers at once.
    const make = () => createSimulator({ db: ctx.db, seed: 77, accounts: 8, accountPrefix: 'duo' });
    const [a, b] = await Promise.all([make().run({ count: 200 }), make().run({ count: 200 })]);
    expect(a.events).toBe(200);
    expect(b.events).toBe(200);

    const events = await streamsOf('duo');
    expect(events).toHaveLength(400);
    const audit = auditStreams(events);
    expect(audit.gaps).toEqual([]);
    expect(audit.creations.filter((c) => !c.includes('-missing-'))).toEqual([]);
    expect(audit.debitsWhileFrozen).toEqual([]);
    expect(audit.overdrafts).toEqual([]);
    // Each account was created by exactly one of them; the other adopted it.
    const created = events.filter((e) => e.eventType === 'AccountCreated').length;
    expect(a.accountsCreated + b.accountsCreated).toBe(created);
    expect(a.accountsAdopted + b.accountsAdopted).toBeGreaterThanOrEqual(8);
    expect(a.initialDeposits + b.initialDeposits).toBeCloseTo(
      events
        .filter((e) => e.eventType === 'AccountCreated')
        .reduce((s, e) => s + Number((e.eventData as Document).initialBalance), 0),
      2,
    );
  });

  it('never debits an account a concurrent writer froze', async () => {
    const sim = createSimulator({ db: ctx.db, seed: 3, accounts: 6, accountPrefix: 'frz' });
    const running = sim.run({ count: 300, rate: 150 });
    // A reaction freezing three accounts once they have some history, while the run goes on.
    const victims = ['frz-000001', 'frz-000002', 'frz-000003'];
    await waitFor(async () => (await streamsOf('frz')).length >= 40, { what: '40 events' });
    for (const aggregateId of victims) {
      await appendEvent(ctx.db, {
        aggregateId,
        aggregateType: 'BankAccount',
        eventType: 'AccountFrozen',
        eventData: { reason: 'test reaction', frozenBy: 'fraud-saga' },
      });
    }
    const summary = await running;

    const events = await streamsOf('frz');
    expect(events).toHaveLength(300 + victims.length);
    const audit = auditStreams(events);
    expect(audit.debitsWhileFrozen).toEqual([]);
    expect(audit.gaps).toEqual([]);
    expect(audit.overdrafts).toEqual([]);
    // The simulator did try to debit them: its stream-tail check refused it.
    expect(summary.refused.frozen).toBeGreaterThanOrEqual(1);
  });
});
