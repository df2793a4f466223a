import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { MongoClient, type Db } from 'mongodb';
import { appendEvent } from '../../events/eventStore.js';
import type { EventMetadata } from '../../events/types.js';
import { ProjectordError, toError, usageError } from '../../lib/errors.js';
import { COMPLIANCE_SAGA_STATE } from '../../../projections/compliance-review-saga.js';
import { reactionEventId } from '../../reactions/append.js';
import { commandContext } from '../context.js';

/**
 * `projectord compliance review <reviewId> --outcome cleared|escalated [--by <name>]`: a person
 * completes a manual compliance review (DOMAIN.md "Sagas"). It appends ComplianceReviewCompleted
 * to the reviewed account; the compliance-review saga picks it up from there. The event id is
 * derived from the review id, so a review can be completed once: a second run — even before the
 * saga has seen the first — is refused with the decision already recorded.
 */
export const REVIEW_OUTCOMES = ['cleared', 'escalated'] as const;
export type ReviewOutcome = (typeof REVIEW_OUTCOMES)[number];

/** The saga's state collection (owned by the compliance-review-saga module). */
const PRODUCER = 'compliance-review-cli';

export function parseOutcome(value: string): ReviewOutcome {
  const found = REVIEW_OUTCOMES.find((o) => o === value);
  if (!found) {
    throw usageError(
      'REVIEW_BAD_OUTCOME',
      `--outcome must be "cleared" or "escalated", got "${value}".`,
    );
  }
  return found;
}

/**
 * Who reviewed: `--by` as given, or the OS user when it is left out. A blank name is refused:
 * the audit trail would record a decision nobody can be asked about.
 */
export function parseReviewer(value: string | undefined): string {
  if (value === undefined) return userInfo().username;
  if (value.trim() === '') {
    throw usageError(
      'REVIEW_BAD_REVIEWER',
      `--by must name who reviewed it, got "${value}"; pass --by <name> or leave --by out to ` +
        'record the current OS user.',
    );
  }
  return value;
}

export interface ReviewInput {
  reviewId: string;
  outcome: ReviewOutcome;
  reviewedBy: string;
}

export interface ReviewRecorded {
  accountId: string;
  eventId: string;
  version: number;
}

interface ReviewDoc {
  _id: string;
  accountId?: unknown;
  aggregateType?: unknown;
  state?: unknown;
  correlationId?: unknown;
  requiredEventId?: unknown;
}

const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : undefined;

export async function completeComplianceReview(
  db: Db,
  input: ReviewInput,
  now: () => Date = () => new Date(),
): Promise<ReviewRecorded> {
  const review = await db
    .collection<ReviewDoc>(COMPLIANCE_SAGA_STATE)
    .findOne({ _id: { $eq: input.reviewId } });
  const accountId = text(review?.accountId);
  if (!review || !accountId) {
    throw usageError(
      'REVIEW_NOT_FOUND',
      `No compliance review "${input.reviewId}" in ${db.databaseName}.${COMPLIANCE_SAGA_STATE}. ` +
        'Review ids look like review-<transferId>; check the id and the --db.',
    );
  }
  if (review.state === 'completed') {
    throw usageError('REVIEW_ALREADY_COMPLETED', `Review ${input.reviewId} is already completed.`);
  }
  const meta: EventMetadata = { producedBy: `projectord:${PRODUCER}`, userAgent: 'projectord-cli' };
  const correlationId = text(review.correlationId);
  const causationId = text(review.requiredEventId);
  if (correlationId) meta.correlationId = correlationId;
  if (causationId) meta.causationId = causationId;
  const appended = await appendEvent(
    db,
    {
      aggregateId: accountId,
      aggregateType: text(review.aggregateType) ?? 'BankAccount',
      eventType: 'ComplianceReviewCompleted',
      eventVersion: '1.0',
      eventData: { reviewId: input.reviewId, outcome: input.outcome, reviewedBy: input.reviewedBy },
      eventMetadata: meta,
      eventId: reactionEventId(PRODUCER, input.reviewId),
    },
    { now },
  );
  if (appended.duplicate) {
    throw usageError(
      'REVIEW_ALREADY_COMPLETED',
      `Review ${input.reviewId} was already completed (event ${appended.eventId}); ` +
        'the first decision stands.',
    );
  }
  return { accountId, eventId: appended.eventId, version: appended.version };
}

export function registerCompliance(program: Command): void {
  // exitOverride: commander's own usage errors reach main() and exit 2, like every other one.
  const compliance = program
    .command('compliance')
    .description('compliance operations')
    .exitOverride();
  compliance
    .command('review <reviewId>')
    .exitOverride()
    .description('complete a manual compliance review (appends ComplianceReviewCompleted)')
    .requiredOption('--outcome <outcome>', 'the decision: cleared or escalated')
    .option('--by <name>', 'who reviewed it (default: the current OS user)')
    .action(async (reviewId: string, opts: { outcome: string; by?: string }, cmd: Command) => {
      const outcome = parseOutcome(opts.outcome);
      const reviewedBy = parseReviewer(opts.by);
      const { config } = commandContext(cmd);
      if (!config.mongoUri) {
        throw usageError(
          'MONGO_URI_REQUIRED',
          'No MongoDB connection string: pass --mongo-uri or set PROJECTORD_MONGO_URI.',
        );
      }
      const client = new MongoClient(config.mongoUri, { serverSelectionTimeoutMS: 10_000 });
      try {
        await client.connect().catch((e: unknown) => {
          throw new ProjectordError(
            'MONGO_UNREACHABLE',
            `Cannot connect to MongoDB: ${toError(e).message}. Check --mongo-uri.`,
          );
        });
        const done = await completeComplianceReview(client.db(config.db), {
          reviewId,
          outcome,
          reviewedBy,
        });
        process.stdout.write(
          `Review ${reviewId} ${outcome} by ${reviewedBy}: ComplianceReviewCompleted appended to ` +
            `account ${done.accountId} (version ${done.version}, event ${done.eventId}).\n`,
        );
      } finally {
        await client.close();
      }
    });
}
