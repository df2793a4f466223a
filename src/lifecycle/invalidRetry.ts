import type { ModulePipeline } from '../dispatch/pipeline.js';
import { prepareEvent } from '../dispatch/prepare.js';
import { eventStore } from '../events/eventStore.js';
import type { DeadLetter } from '../lanes/deadLetters.js';
import type { Outcome } from '../lanes/lane.js';
import { toError } from '../lib/errors.js';
import { within } from '../lib/timeout.js';
import type { DaemonContext } from './context.js';

/**
 * An operator's retry of an `invalid` dead letter (`projectord dlq retry <id>`). An invalid
 * event never reached a handler, so nothing waits behind it; it is read again from event_store
 * and validated again — projectord may have learnt to read it since (an upgrade), or the store's
 * owner may have corrected it:
 *  - still invalid (or gone): the entry goes back to `invalid` with the reason found now;
 *  - valid: it goes to the module's lane like any event. Applied (or already covered by the
 *    module's guards: `duplicate`) resolves the entry; a failing handler parks it under its key
 *    like any dead letter (same entry id); a parked key makes it wait behind the parked event.
 */
export async function retryInvalid(
  p: ModulePipeline,
  request: DeadLetter,
  c: DaemonContext,
  pipelines: readonly ModulePipeline[] = [p],
): Promise<void> {
  const { deadLetters, logger } = c;
  const module = p.module.name;
  const raw = await within(
    eventStore(c.db).findOne({ _id: { $eq: request.sourceId as never } }),
    c.config.mongo.operationTimeoutMs,
    'reading an invalid event again',
  );
  const prepared = raw ? prepareEvent(raw, c.upcasters) : undefined;
  if (!raw || !prepared?.ok) {
    const error =
      prepared && !prepared.ok
        ? { message: prepared.message, field: prepared.field }
        : { message: 'the event is no longer in event_store: skip it (projectord dlq skip)' };
    await deadLetters.setStatus(request._id, 'invalid', { error });
    logger.warn(
      { eventId: request.eventId, module, reason: error.message },
      'retried invalid event is still invalid',
    );
    return;
  }
  const { event } = prepared;
  const key = p.module.orderingKey ? p.module.orderingKey(event) : event.aggregateId;
  // The lane of the key's partition (the poll handed the request to the one owning key '').
  const target = pipelines.find((q) => q.module.name === module && q.owns(event));
  if (!target) {
    await deadLetters.setStatus(request._id, 'invalid', {
      error: {
        message:
          'valid now, but its partition runs on another instance: retry it again (projectord dlq retry)',
      },
    });
    return;
  }
  const settle = async (outcome: Outcome) => {
    if (outcome === 'applied' || outcome === 'duplicate') {
      await deadLetters.setStatus(request._id, 'resolved', { retryOutcome: outcome });
      logger.info({ eventId: event.eventId, module, outcome }, 'retried invalid event handled');
    } else if (outcome === 'waiting') {
      // The lane's own waiting entry would not replace this one (same id): it is made here.
      await deadLetters.setStatus(request._id, 'waiting', {
        key,
        order: Date.now() * 1000,
        error: { message: 'waiting behind a parked event of the same key' },
      });
    }
    // dead_lettered: the lane parked it under this very id, with the handler's error.
  };
  await target.lane.push({
    event,
    raw,
    done: (outcome) => {
      settle(outcome).catch((e: unknown) =>
        logger.warn({ err: toError(e), id: request._id }, 'could not record a retry outcome'),
      );
    },
  });
}
