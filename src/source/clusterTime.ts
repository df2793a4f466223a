import type { Db, Timestamp } from 'mongodb';
import { clusterTimeFromDate } from '../checkpoint/position.js';

/**
 * The server's current cluster time, taken before a catch-up scan: the live stream later
 * starts there, so nothing appended during the scan is missed (the overlap is removed by the
 * guards). Replica sets report it with every reply; servers that do not (the embedded
 * fallback) get the local clock minus a safety margin — they run on this machine.
 */
export async function currentClusterTime(db: Db, marginMs = 2000): Promise<Timestamp> {
  const reply = await db.command({ ping: 1 });
  const op = reply.operationTime as Timestamp | undefined;
  const cluster = (reply.$clusterTime as { clusterTime?: Timestamp } | undefined)?.clusterTime;
  return op ?? cluster ?? clusterTimeFromDate(new Date(), marginMs);
}
