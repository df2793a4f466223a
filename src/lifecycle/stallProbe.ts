import type { Db, Document } from 'mongodb';
import { eventStore } from '../events/eventStore.js';
import { within } from '../lib/timeout.js';
import type { Logger } from '../observability/logger.js';
import { classifyError } from '../source/errors.js';
import type { ProbedEvent, StoreKey } from './stallWatch.js';

/**
 * The stall watch's one query per period: the first event of the handled types after `after` in
 * `{eventTimestamp: 1, _id: 1}` order — the seed's own `global_event_order` index, which
 * projectord also creates (`event_timestamp`, events/eventStore.ts). On a quiet store that is an
 * empty index range: one key looked at. The index is hinted; a server that refuses the hint (no
 * such index, or a server without hints) is asked again without it, once and for all.
 */
export const EVENT_ORDER_INDEX = { eventTimestamp: 1, _id: 1 } as const;

export function afterKey(after: StoreKey): Document {
  if (after.id === undefined) return { eventTimestamp: { $gt: after.at } };
  return {
    $or: [
      { eventTimestamp: { $gt: after.at } },
      { eventTimestamp: { $eq: after.at }, _id: { $gt: after.id } },
    ],
  };
}

export function createStallProbe(o: {
  db: Db;
  types: readonly string[];
  timeoutMs: number;
  logger: Logger;
}): (after: StoreKey) => Promise<ProbedEvent | undefined> {
  let hint = true;
  const find = (after: StoreKey) =>
    eventStore(o.db)
      .find(
        { eventType: { $in: [...o.types] }, ...afterKey(after) },
        {
          projection: { _id: 1, eventTimestamp: 1, eventType: 1, eventId: 1 },
          sort: EVENT_ORDER_INDEX,
          limit: 1,
          ...(hint ? { hint: EVENT_ORDER_INDEX } : {}),
        },
      )
      .next();
  return async (after) => {
    let doc: Document | null;
    try {
      doc = await within(find(after), o.timeoutMs, 'probing event_store for a stalled stream');
    } catch (e) {
      if (!hint || classifyError(e) === 'infrastructure') throw e;
      hint = false;
      o.logger.warn(
        { err: e },
        'the stall probe cannot use the {eventTimestamp: 1, _id: 1} index of event_store; probing without it',
      );
      doc = await within(find(after), o.timeoutMs, 'probing event_store for a stalled stream');
    }
    if (!doc || !(doc.eventTimestamp instanceof Date)) return undefined;
    return {
      key: { at: doc.eventTimestamp, id: doc._id },
      eventType: String(doc.eventType),
      eventId: doc.eventId,
    };
  };
}
