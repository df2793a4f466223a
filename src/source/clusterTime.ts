import { ReadPreference, type Db, type Timestamp } from 'mongodb';
import { clusterTimeFromDate } from '../checkpoint/position.js';
import { EVENT_STORE } from '../events/eventStore.js';

/** How far before the server's answer the live stream starts after a scan, on every server. */
export const STREAM_START_MARGIN_MS = 2000;

/**
 * The time the live stream starts at after a catch-up scan (or a rebuild pass), read before the
 * scan: nothing appended during the scan is missed, and the overlap is removed by the guards.
 *
 * It is the operation time of a `majority` read on the primary (issue 15, item 3), the same
 * snapshot the scan's own reads start from (source/catchUp.ts): a write the primary has applied
 * but a majority has not yet is neither before this time in the scan's view nor lost to the
 * stream, which only returns majority-committed changes. `STREAM_START_MARGIN_MS` more is taken
 * off on every server, so that reading a time and opening a snapshot never race. Servers that
 * report no operation time (the embedded fallback, which runs on this machine) get this
 * machine's clock minus the margin.
 */
export async function currentClusterTime(
  db: Db,
  marginMs = STREAM_START_MARGIN_MS,
): Promise<Timestamp> {
  const reply = await db.command(
    {
      find: EVENT_STORE,
      filter: {},
      projection: { _id: 1 },
      limit: 1,
      singleBatch: true,
      readConcern: { level: 'majority' },
    },
    { readPreference: ReadPreference.primary },
  );
  const op = reply.operationTime as Timestamp | undefined;
  const cluster = (reply.$clusterTime as { clusterTime?: Timestamp } | undefined)?.clusterTime;
  const at = op ?? cluster;
  if (!at) return clusterTimeFromDate(new Date(), marginMs);
  return clusterTimeFromDate(new Date(at.t * 1000), marginMs);
}
