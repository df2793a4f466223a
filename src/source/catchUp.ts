import type { Db, Document } from 'mongodb';
import { EVENT_STORE } from '../events/eventStore.js';
import type { RawEventDocument } from '../events/types.js';
import { toError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';
import { backoffDelay, sleep } from '../lanes/backoff.js';
import { classifyError } from './errors.js';

/**
 * The catch-up source: every event of event_store in (aggregateId, version) order, read with one
 * cursor in batches. After a transient error it reopens after the last (aggregateId, version)
 * it delivered. Documents whose aggregateId is not a string sort apart and are delivered too
 * (the dispatcher dead-letters them); they are never used in a filter.
 */
export interface CatchUpOptions {
  db: Db;
  batchSize: number;
  signal: AbortSignal;
  logger: Logger;
  /** Restrict the scan (replay): plain equality/range filter built by projectord, never from events. */
  filter?: Document;
}

export async function* catchUpSource(o: CatchUpOptions): AsyncGenerator<RawEventDocument> {
  let after: { aggregateId: string; version: number } | undefined;
  let failures = 0;
  while (!o.signal.aborted) {
    const resume: Document = after
      ? {
          $or: [
            { aggregateId: { $gt: after.aggregateId } },
            { aggregateId: { $eq: after.aggregateId }, version: { $gt: after.version } },
          ],
        }
      : {};
    const filter = o.filter ? { $and: [o.filter, resume] } : resume;
    const cursor = o.db
      .collection(EVENT_STORE)
      .find(filter)
      .sort({ aggregateId: 1, version: 1 })
      .batchSize(o.batchSize);
    try {
      for await (const doc of cursor) {
        if (o.signal.aborted) return;
        failures = 0;
        if (typeof doc.aggregateId === 'string' && typeof doc.version === 'number') {
          after = { aggregateId: doc.aggregateId, version: doc.version };
        }
        yield doc;
      }
      return;
    } catch (e) {
      if (classifyError(e) !== 'infrastructure' && classifyError(e) !== 'other') throw e;
      failures++;
      if (failures > 50) throw e;
      o.logger.warn({ err: toError(e) }, 'catch-up scan interrupted; resuming');
      await sleep(backoffDelay(failures, 100, 10_000), o.signal);
    } finally {
      await cursor.close().catch(() => undefined);
    }
  }
}

/** Events of one aggregate in a version range, in order (gap repair, dead-letter retry). */
export async function readVersions(
  db: Db,
  aggregateId: string,
  from: number,
  to: number,
): Promise<RawEventDocument[]> {
  return db
    .collection(EVENT_STORE)
    .find({ aggregateId: { $eq: aggregateId }, version: { $gte: from, $lte: to } })
    .sort({ version: 1 })
    .toArray();
}
