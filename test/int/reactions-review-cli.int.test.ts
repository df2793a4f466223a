import type { Db } from 'mongodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { completeComplianceReview } from '../../src/cli/commands/compliance.js';
import { main } from '../../src/cli/main.js';
import { ensureEventStoreIndexes, eventStore } from '../../src/events/eventStore.js';
import { ProjectordError } from '../../src/lib/errors.js';
import { mongoUri, useTestDb } from '../helpers/mongo.js';

const at = new Date('2025-03-04T09:00:00Z');

describe('projectord compliance review (against MongoDB)', () => {
  let db: Db;
  let dbName: string;
  beforeAll(async () => {
    ({ db, dbName } = await useTestDb('reviewcli'));
    await ensureEventStoreIndexes(db);
  });
  afterEach(() => vi.restoreAllMocks());

  async function openReview(reviewId: string, accountId: string, state = 'awaiting_review') {
    await db
      .collection<{ _id: string; [field: string]: unknown }>('compliance_saga_state')
      .insertOne({
        _id: reviewId,
        reviewId,
        accountId,
        aggregateType: 'BankAccount',
        state,
        correlationId: `corr-${reviewId}`,
        requiredEventId: `required-${reviewId}`,
      });
    await eventStore(db).insertOne({
      eventId: `${accountId}-1`,
      aggregateId: accountId,
      version: 1,
      eventType: 'AccountCreated',
    });
  }

  async function refused(p: Promise<unknown>): Promise<ProjectordError> {
    const err: unknown = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProjectordError);
    expect((err as ProjectordError).exitCode).toBe(2);
    return err as ProjectordError;
  }

  it('appends ComplianceReviewCompleted to the reviewed account', async () => {
    await openReview('review-A', 'acc-A');
    const done = await completeComplianceReview(
      db,
      { reviewId: 'review-A', outcome: 'escalated', reviewedBy: 'carol' },
      () => at,
    );
    expect(done).toMatchObject({ accountId: 'acc-A', version: 2 });
    const event = await eventStore(db).findOne({ aggregateId: 'acc-A', version: 2 });
    expect(event).toMatchObject({
      eventId: done.eventId,
      eventType: 'ComplianceReviewCompleted',
      aggregateType: 'BankAccount',
      eventTimestamp: at,
      eventData: { reviewId: 'review-A', outcome: 'escalated', reviewedBy: 'carol' },
      eventMetadata: { correlationId: 'corr-review-A', causationId: 'required-review-A' },
    });
  });

  it('refuses a second completion, even before the saga has seen the first', async () => {
    await openReview('review-B', 'acc-B');
    await completeComplianceReview(db, {
      reviewId: 'review-B',
      outcome: 'cleared',
      reviewedBy: 'a',
    });
    const err = await refused(
      completeComplianceReview(db, { reviewId: 'review-B', outcome: 'escalated', reviewedBy: 'b' }),
    );
    expect(err.code).toBe('REVIEW_ALREADY_COMPLETED');
    expect(await eventStore(db).countDocuments({ aggregateId: 'acc-B' })).toBe(2);
  });

  it('refuses a review the saga has already completed', async () => {
    await openReview('review-C', 'acc-C', 'completed');
    const err = await refused(
      completeComplianceReview(db, { reviewId: 'review-C', outcome: 'cleared', reviewedBy: 'a' }),
    );
    expect(err.message).toMatch(/already completed/);
    expect(await eventStore(db).countDocuments({ aggregateId: 'acc-C' })).toBe(1);
  });

  it.each(['review-nope', '{"$gt": ""}'])('refuses an unknown review id %s', async (reviewId) => {
    const err = await refused(
      completeComplianceReview(db, { reviewId, outcome: 'cleared', reviewedBy: 'a' }),
    );
    expect(err.code).toBe('REVIEW_NOT_FOUND');
    expect(err.message).toContain(reviewId);
  });

  it('runs end to end through the CLI', async () => {
    await openReview('review-E', 'acc-E');
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
      out += String(c);
      return true;
    });
    const args = ['--mongo-uri', mongoUri(), '--db', dbName, 'compliance', 'review', 'review-E'];
    expect(
      await main(['node', 'projectord', ...args, '--outcome', 'cleared', '--by', 'erin']),
    ).toBe(0);
    expect(out).toMatch(
      /Review review-E cleared by erin: ComplianceReviewCompleted appended to account acc-E/,
    );
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await main(['node', 'projectord', ...args, '--outcome', 'cleared'])).toBe(2);
    expect(
      await main([
        'node',
        'projectord',
        '--mongo-uri',
        mongoUri(),
        '--db',
        dbName,
        'compliance',
        'review',
        'review-zz',
        '--outcome',
        'cleared',
      ]),
    ).toBe(2);
  });
});
