import type { Db } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  COMPLIANCE_REVIEW_SAGA,
  COMPLIANCE_SAGA_STATE,
} from '../../projections/compliance-review-saga.js';
import { appendEvent } from '../../src/events/eventStore.js';
import { DEAD_LETTERS } from '../../src/lanes/deadLetters.js';
import { readDatabaseCounts } from '../../src/observability/daemonMetrics.js';
import { METRICS } from '../../src/observability/metrics.js';
import { bankConfig, useBankDaemons } from '../helpers/bankDaemon.js';
import { bankWriter } from '../helpers/bankEvents.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';

/**
 * `/metrics` of the whole bank daemon over HTTP: every metric of the METRICS table has a sample
 * (not only HELP/TYPE), the default process metrics are there, an event no module handles counts
 * as `ignored`, and the overdue-reviews gauge counts only open reviews — all through the real
 * sampler, whose database pass runs every 5 s (hence the generous deadlines).
 */
const UNKNOWN_EVENT_TYPE = 'LoyaltyPointsAwarded';
const IGNORED = `projectord_events_applied_total{module="*",partition="*",event_type="${UNKNOWN_EVENT_TYPE}",outcome="ignored"} 1`;

/** The metric names in `text` without a sample line (a histogram's are its _bucket/_sum/_count). */
function withoutSamples(text: string, names: readonly string[]): string[] {
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return names.filter((name) => {
    const sample = new RegExp(`^${name}(_bucket|_sum|_count)?[{ ]`);
    return !lines.some((l) => sample.test(l));
  });
}

/** A review in the shape the saga stores, reduced to the fields the sampler reads. */
function review(id: string, state: string, overdue: boolean) {
  const dueAt = new Date(Date.now() - 80 * 3_600_000);
  return {
    _id: id,
    reviewId: id,
    accountId: 'acc-review',
    state,
    overdue,
    overdueAt: state === 'awaiting_review' ? null : dueAt,
    reviewDueAt: dueAt,
  };
}

/** One open overdue review, one timed out (still `overdue: true`), one completed late. */
async function seedReviews(db: Db): Promise<void> {
  await db
    .collection<{ _id: string }>(COMPLIANCE_SAGA_STATE)
    .insertMany([
      review('review-open-overdue', 'overdue', true),
      review('review-timed-out', 'timed_out', true),
      review('review-completed-late', 'completed', false),
    ]);
}

describe('metrics against MongoDB', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  // The daemon's database, and one for seeding what the daemon must not see.
  let seeded: Db;
  const daemons = useBankDaemons();
  beforeAll(async () => {
    ctx = await useTestDb('metrics');
    seeded = (await useTestDb('metrics_counts')).db;
  });

  it('reads overdue reviews, saga states and dead letters as the sampler exports them', async () => {
    const db = seeded;
    await seedReviews(db);
    await db.collection<{ _id: string; module: string; status: string }>(DEAD_LETTERS).insertMany([
      { _id: 'd1', module: 'account-summary', status: 'parked' },
      { _id: 'd2', module: 'transaction-history', status: 'parked' },
      { _id: 'd3', module: 'account-summary', status: 'skipped' },
      { _id: 'd4', module: 'account-summary', status: 'invalid' },
    ]);
    const counts = await readDatabaseCounts(db, new Set([COMPLIANCE_REVIEW_SAGA]));
    expect(counts.overdueReviews).toBe(1);
    expect(Object.fromEntries(counts.sagaStates.get(COMPLIANCE_REVIEW_SAGA) ?? [])).toEqual({
      overdue: 1,
      timed_out: 1,
      completed: 1,
    });
    // Only the sagas running here are read; the review saga's absence leaves the gauge alone.
    expect([...counts.sagaStates.keys()]).toEqual([COMPLIANCE_REVIEW_SAGA]);
    expect(
      Object.fromEntries([...counts.deadLetters].map(([m, s]) => [m, Object.fromEntries(s)])),
    ).toEqual({
      'account-summary': { parked: 1, invalid: 1 },
      'transaction-history': { parked: 1 },
    });
    expect((await readDatabaseCounts(db, new Set())).overdueReviews).toBeUndefined();
  });

  it('serves a sample of every metric of a running bank daemon', async () => {
    const daemon = await daemons.start(bankConfig(ctx.dbName));
    const bank = bankWriter(ctx.db);
    await bank.open('acc-1', 50_000);
    await bank.open('acc-2', 0);
    // Two-step and large: the transfer saga credits acc-2 and a compliance review opens.
    await bank.debit({ transferId: 'T-1', from: 'acc-1', to: 'acc-2', amount: 12_000 });
    await appendEvent(ctx.db, {
      aggregateId: 'loyalty-1',
      aggregateType: 'LoyaltyAccount',
      eventType: UNKNOWN_EVENT_TYPE,
      eventVersion: '1.0',
      eventData: { points: 5 },
      eventMetadata: { sourceIp: '10.0.0.1', userAgent: 'metrics-test/1.0' },
    });
    await seedReviews(ctx.db);

    const names = Object.values(METRICS).map((m) => m.name as string);
    let text = '';
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${daemon.running.metricsPort}/metrics`);
      expect(res.status).toBe(200);
      text = await res.text();
      return (
        withoutSamples(text, names).length === 0 &&
        text.includes(IGNORED) &&
        text.includes('projectord_compliance_reviews_overdue 1\n') &&
        text.includes('projectord_saga_instances{saga="transfer-saga"')
      );
    };
    // On a timeout the assertions below say what was missing from the last scrape.
    await waitFor(scrape, { timeoutMs: 30_000, intervalMs: 250, what: 'a full scrape' }).catch(
      () => undefined,
    );
    expect(daemon.failure()).toBeUndefined();
    expect(withoutSamples(text, names)).toEqual([]);
    expect(withoutSamples(text, ['process_cpu_user_seconds_total'])).toEqual([]);
    expect(text).toContain(IGNORED);
    // The open overdue review only: the timed-out one keeps `overdue: true` but is closed.
    expect(text).toContain('projectord_compliance_reviews_overdue 1\n');
    expect(text).toContain(
      'projectord_saga_instances{saga="compliance-review-saga",state="timed_out"} 1',
    );
    expect(text).toMatch(/projectord_saga_instances\{saga="transfer-saga",state="[^"]+"\} 1/);
  });
});
