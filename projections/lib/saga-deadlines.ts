import type { Document } from 'mongodb';
import { ProjectordError } from '../../src/lib/errors.js';
import type { Deadline, ReactionContext } from '../../src/modules/types.js';

/**
 * Deadlines that may fire before their saga's state exists. A saga schedules its deadlines while
 * it handles an event (written at once) and saves its state as a write intent the engine applies
 * after the handler returns; a lost lease (the write is refused) or a crash in between drops the
 * state, and the event is handled again later, by whoever owns the saga then. A deadline that
 * fires meanwhile finds no state: it is early, not stale. Were it consumed, scheduling it again
 * would not revive it (a fired deadline never is) and the saga would wait forever. So it fails,
 * and the scheduler fires it again after its retry delay — until it is overdue by more than
 * `giveUpAfterMs`: then no state is coming (the event was skipped, the state removed), and it
 * is dropped with an error naming the saga.
 *
 * Overdue is measured from `firstDueAt` in the payload, the due time as scheduled: the scheduler
 * moves `dueAt` at every retry. A deadline stored without it is measured from its `dueAt`.
 */
export interface SagaDeadlinePayload {
  firstDueAt?: Date;
}

/** A deadline whose payload records its due time, for `stateNotSavedYet`. */
export function sagaDeadline<P extends Document>(
  id: string,
  key: string,
  dueAt: Date,
  payload: P,
): Deadline<P & SagaDeadlinePayload> {
  return { id, key, dueAt, payload: { ...payload, firstDueAt: dueAt } };
}

/** Throws (fire again later) or, past the bound, logs the drop; `saga` names it in the log. */
export function stateNotSavedYet(
  ctx: ReactionContext,
  deadline: Deadline,
  giveUpAfterMs: number,
  saga: Record<string, string>,
): void {
  const first: unknown = deadline.payload.firstDueAt;
  const firstDueAt = first instanceof Date ? first : deadline.dueAt;
  const overdueMs = ctx.now().getTime() - firstDueAt.getTime();
  if (overdueMs > giveUpAfterMs) {
    ctx.logger.error(
      { ...saga, deadline: deadline.id, firstDueAt, overdueMs },
      'saga deadline dropped: the saga state never appeared (was its event skipped?)',
    );
    return;
  }
  throw new ProjectordError(
    'SAGA_STATE_MISSING',
    `Deadline ${deadline.id} found no saga state for ${deadline.key}: its state write has not ` +
      `landed yet (the event will be handled again). It fires again later; nothing to do.`,
  );
}
