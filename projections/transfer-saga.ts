import { bankSettings, type SagaSettings } from '../src/config/bankSchema.js';
import type { ProjectorEvent } from '../src/events/types.js';
import { defineReaction, type Deadline, type ReactionContext } from '../src/modules/types.js';
import { sagaDeadline, stateNotSavedYet } from './lib/saga-deadlines.js';
import { dataId } from './lib/saga-ids.js';
import { issuedCredit, transferOfDebit } from './lib/saga-transfer-events.js';
import {
  cancelDeadlines,
  checkDestination,
  compensate,
  creditDeadlineId,
  OPEN,
  save,
  timeoutId,
  TRANSFER_SAGA_STATE,
  type TransferPayload,
  type TransferSagaDoc,
} from './lib/saga-transfer-state.js';
import { dataOf, idField } from './lib/validate.js';

/**
 * `transfer-saga` (DOMAIN.md "Sagas"), one instance per transferId in `transfer_saga_state`,
 * ordered by transferId so the debit and the credit — on two accounts — are handled one at a time.
 *
 *   FundsDebited ─▶ DebitCompleted ─(credit deadline: issue the credit)─▶ CreditPending
 *                         │                                                     │
 *                         └─────────────── FundsCredited seen ──────────────────┴─▶ Completed
 *   destination unknown or frozen, credit still failing after the retries, or the timeout:
 *                         ─▶ Compensating ─(DebitReversed seen)─▶ Compensated
 *
 * The destination's stream in event_store is the truth for "does it exist, is it frozen, is it
 * already credited": a credit that arrived before its debit is found there. The credit waits
 * `creditDelayMs` so a command side that writes its own credit gets there first; a compensation
 * re-checks the stream, so a credit that exists is never reversed. Each handler writes the
 * state at most once (the engine applies one write per document and event).
 *
 * The deadlines are scheduled at once, the state is saved after the handler: a deadline that
 * finds no state is early (the save was refused or lost; the debit is handled again) and fires
 * again later, until it is overdue by more than `timeoutMs` (lib/saga-deadlines.ts).
 */
export const TRANSFER_SAGA = 'transfer-saga';
export { TRANSFER_SAGA_STATE } from './lib/saga-transfer-state.js';
export type { TransferSagaDoc, TransferState } from './lib/saga-transfer-state.js';

async function onDebit(event: ProjectorEvent, ctx: ReactionContext, s: SagaSettings['transfer']) {
  const t = transferOfDebit(event);
  const existing = await ctx.findOne<TransferSagaDoc>(TRANSFER_SAGA_STATE, t.transferId);
  if (existing) {
    if (existing.debitEventId !== event.eventId) {
      ctx.logger.warn({ transferId: t.transferId }, 'second debit for one transfer ignored');
    }
    return;
  }
  const now = ctx.now();
  const doc: TransferSagaDoc = {
    ...t,
    _id: t.transferId,
    state: 'DebitCompleted',
    creditEventId: null,
    creditAttempts: 0,
    reversalEventId: null,
    compensationReason: null,
    lastError: null,
    startedAt: now,
    updatedAt: now,
    completedAt: null,
    timeoutAt: new Date(now.getTime() + s.timeoutMs),
  };
  const check = await checkDestination(ctx, doc);
  if (check === 'completed') return;
  // A frozen or unknown destination is compensated only when the credit deadline fires: the
  // command side may still write its own credit meanwhile, and a credited transfer must never
  // also be reversed (that would create money).
  const key = t.transferId;
  const dueAt = new Date(now.getTime() + s.creditDelayMs);
  const credit = { kind: 'credit', attempt: 1 } satisfies TransferPayload;
  await ctx.schedule(sagaDeadline(creditDeadlineId(key, 1), key, dueAt, credit));
  const timeout = { kind: 'timeout' } satisfies TransferPayload;
  await ctx.schedule(sagaDeadline(timeoutId(key), key, doc.timeoutAt, timeout));
  save(ctx, doc);
}

async function onCreditDue(
  ctx: ReactionContext,
  doc: TransferSagaDoc,
  attempt: number,
  s: SagaSettings['transfer'],
) {
  const result = await ctx.append(issuedCredit(doc, ctx.now()));
  if (result.ok) {
    save(ctx, { ...doc, state: 'CreditPending', creditAttempts: attempt, lastError: null });
    return;
  }
  if (attempt > s.maxRetries)
    return compensate(ctx, { ...doc, creditAttempts: attempt }, 'credit_failed');
  const key = doc.transferId;
  const dueAt = new Date(ctx.now().getTime() + s.retryBaseDelayMs * 2 ** (attempt - 1));
  const next = { kind: 'credit', attempt: attempt + 1 } satisfies TransferPayload;
  await ctx.schedule(sagaDeadline(creditDeadlineId(key, attempt + 1), key, dueAt, next));
  save(ctx, { ...doc, state: 'CreditPending', creditAttempts: attempt, lastError: result.reason });
}

async function onDeadline(deadline: Deadline, ctx: ReactionContext): Promise<void> {
  const s = bankSettings(ctx.settings).sagas.transfer;
  const doc = await ctx.findOne<TransferSagaDoc>(TRANSFER_SAGA_STATE, deadline.key);
  if (!doc) return stateNotSavedYet(ctx, deadline, s.timeoutMs, { transferId: deadline.key });
  if (!OPEN.includes(doc.state)) return; // finished meanwhile: a stale deadline
  const payload = deadline.payload as TransferPayload;
  const check = await checkDestination(ctx, doc);
  if (check === 'completed') return;
  // Past the timeout even a credit deadline compensates (both were overdue at a restart).
  if (payload.kind === 'timeout' || ctx.now().getTime() >= doc.timeoutAt.getTime())
    return compensate(ctx, doc, 'credit_timeout');
  if (check !== 'open') return compensate(ctx, doc, check);
  if (payload.attempt <= doc.creditAttempts) return; // an attempt already made
  await onCreditDue(ctx, doc, payload.attempt, s);
}

async function onCredit(event: ProjectorEvent, ctx: ReactionContext) {
  const transferId = idField(dataOf(event), 'transferId');
  const doc = await ctx.findOne<TransferSagaDoc>(TRANSFER_SAGA_STATE, transferId);
  // No saga yet: an incoming transfer, or a credit ahead of its debit (the debit will find it).
  if (!doc) return;
  if (OPEN.includes(doc.state)) {
    await cancelDeadlines(ctx, doc);
    save(ctx, { ...doc, state: 'Completed', creditEventId: event.eventId, completedAt: ctx.now() });
  } else if (doc.state !== 'Completed') {
    ctx.logger.error(
      { transferId, eventId: event.eventId },
      'credit after compensation: reconcile',
    );
    save(ctx, { ...doc, lateCreditEventId: event.eventId });
  } else if (doc.creditEventId !== event.eventId) {
    ctx.logger.error({ transferId, eventId: event.eventId }, 'second credit for one transfer');
  }
}

async function onReversal(event: ProjectorEvent, ctx: ReactionContext) {
  const transferId = idField(dataOf(event), 'transferId');
  const doc = await ctx.findOne<TransferSagaDoc>(TRANSFER_SAGA_STATE, transferId);
  if (!doc || doc.state === 'Compensated' || doc.state === 'Completed') return;
  if (OPEN.includes(doc.state)) await cancelDeadlines(ctx, doc);
  save(ctx, {
    ...doc,
    state: 'Compensated',
    compensationReason: doc.compensationReason ?? 'reversed_externally',
    reversalEventId: event.eventId,
    completedAt: ctx.now(),
  });
}

export default defineReaction({
  name: TRANSFER_SAGA,
  version: 1,
  handles: ['FundsDebited', 'FundsCredited', 'DebitReversed'],
  collections: [TRANSFER_SAGA_STATE],
  indexes: { [TRANSFER_SAGA_STATE]: [{ key: { state: 1 } }] },
  verifyIgnore: ['updatedAt'],
  orderingKey: (event) => dataId(event, 'transferId') ?? event.aggregateId,
  async react(event, ctx) {
    if (event.eventType === 'FundsDebited') {
      await onDebit(event, ctx, bankSettings(ctx.settings).sagas.transfer);
    } else if (event.eventType === 'FundsCredited') await onCredit(event, ctx);
    else await onReversal(event, ctx);
  },
  onDeadline,
});
