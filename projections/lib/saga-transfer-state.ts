import { ProjectordError } from '../../src/lib/errors.js';
import type { ReactionContext } from '../../src/modules/types.js';
import { ACCOUNT_STATE_EVENTS, accountFacts, creditOf } from './saga-accounts.js';
import {
  compensation,
  type CompensationReason,
  type TransferFacts,
} from './saga-transfer-events.js';

/**
 * The transfer saga's state document and the steps that end a transfer. Each step writes the
 * state at most once per handler call (the engine applies one write per document and event).
 */
export const TRANSFER_SAGA_STATE = 'transfer_saga_state';

export type TransferState =
  'DebitCompleted' | 'CreditPending' | 'Completed' | 'Compensating' | 'Compensated';

export interface TransferSagaDoc extends TransferFacts {
  _id: string;
  state: TransferState;
  creditEventId: string | null;
  /** Credit attempts made; the next credit deadline is `<transferId>:credit:<attempts + 1>`. */
  creditAttempts: number;
  reversalEventId: string | null;
  compensationReason: string | null;
  lateCreditEventId?: string;
  lastError: string | null;
  startedAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
  timeoutAt: Date;
}

export type TransferPayload = { kind: 'credit'; attempt: number } | { kind: 'timeout' };
export const OPEN: readonly TransferState[] = ['DebitCompleted', 'CreditPending'];
export const creditDeadlineId = (t: string, attempt: number) => `${t}:credit:${attempt}`;
export const timeoutId = (t: string) => `${t}:timeout`;

export function save(ctx: ReactionContext, doc: TransferSagaDoc): void {
  const { _id, ...fields } = doc;
  ctx.upsert(TRANSFER_SAGA_STATE, _id, { set: { ...fields, updatedAt: ctx.now() } });
}

export async function cancelDeadlines(ctx: ReactionContext, doc: TransferSagaDoc): Promise<void> {
  await ctx.cancelDeadline(creditDeadlineId(doc.transferId, doc.creditAttempts + 1));
  await ctx.cancelDeadline(timeoutId(doc.transferId));
}

export async function compensate(
  ctx: ReactionContext,
  doc: TransferSagaDoc,
  reason: CompensationReason,
): Promise<void> {
  const result = await ctx.append(compensation(doc, reason));
  if (!result.ok) {
    throw new ProjectordError(
      'APPEND_FAILED',
      `Could not reverse the debit of transfer ${doc.transferId}: ${result.reason}`,
    );
  }
  await cancelDeadlines(ctx, doc);
  ctx.logger.info({ transferId: doc.transferId, reason }, 'transfer compensated');
  save(ctx, {
    ...doc,
    state: 'Compensating',
    compensationReason: reason,
    reversalEventId: result.eventId,
  });
}

/**
 * The credit of the transfer, wherever the command side wrote it: in the destination's stream,
 * or in the source's — the seed article's `storeEvents` stamps every event of a TransferFunds
 * with the source's aggregateId, so its one-step credit follows the debit in the source's own
 * stream. Either way it is the transfer's credit (DOMAIN.md: "if no FundsCredited for the
 * transfer exists"), and issuing another would create money. Narrow reads, destination first.
 */
async function creditOfTransfer(ctx: ReactionContext, doc: TransferSagaDoc) {
  const filter = { types: ['FundsCredited'], data: { transferId: doc.transferId } };
  for (const account of [doc.destinationAccountId, doc.sourceAccountId]) {
    const credit = creditOf(await ctx.readStream(account, filter), doc.transferId);
    if (credit) return credit;
  }
  return undefined;
}

/** Completes from the stream, or says why the destination cannot take the credit. */
export async function checkDestination(
  ctx: ReactionContext,
  doc: TransferSagaDoc,
): Promise<'completed' | CompensationReason | 'open'> {
  const credit = await creditOfTransfer(ctx, doc);
  if (credit) {
    await cancelDeadlines(ctx, doc);
    save(ctx, {
      ...doc,
      state: 'Completed',
      creditEventId: credit.eventId,
      completedAt: ctx.now(),
    });
    return 'completed';
  }
  const facts = accountFacts(
    await ctx.readStream(doc.destinationAccountId, { types: ACCOUNT_STATE_EVENTS }),
  );
  if (!facts.exists) return 'destination_unknown';
  return facts.frozen ? 'destination_frozen' : 'open';
}
