import type { ChangeStreamDocument, Db, Document, Timestamp } from 'mongodb';
import {
  clusterTimeOfToken,
  toPosition,
  type Position,
  type ResumeToken,
} from '../checkpoint/position.js';
import { EVENT_STORE } from '../events/eventStore.js';
import type { RawEventDocument } from '../events/types.js';
import { mongoErrorCode } from '../lib/errors.js';

/**
 * What the live source does with a change that is not a plain insert with its document, and
 * with a change too large to be sent. Kept apart from the stream loop (changeStream.ts).
 *
 * - `invalidate`: event_store was dropped or renamed (or its database dropped). The server sends
 *   it whatever the `$match`, without a document, and ends the stream. The source moves past it
 *   and opens the next stream with `startAfter` its token, which — unlike `resumeAfter` — accepts
 *   an invalidate token: it waits for an event_store to be written again and delivers from there.
 * - BSONObjectTooLarge (10334): an insert whose change event exceeds 16 MB. MongoDB's advice is
 *   first to `$project` away what is not needed (docs, "$changeStreamSplitLargeEvent": "Use a
 *   $project stage to include only the fields necessary"); that works on every version, where
 *   $changeStreamSplitLargeEvent needs 7.0 / 6.0.9. So the one event is read by a stream without
 *   `fullDocument` (its `_id`, token and time), and its document by `_id` from event_store.
 */
export type StreamChange = ChangeStreamDocument<Document>;

/** The code a change event over 16 MB fails its stream with. */
export const BSON_OBJECT_TOO_LARGE = 10334;

export function isTooLarge(e: unknown): boolean {
  return mongoErrorCode(e) === BSON_OBJECT_TOO_LARGE;
}

/** The pipeline of the live stream; `slim` leaves the document out (read by _id instead). */
export function streamPipeline(slim: boolean): Document[] {
  // An invalidate passes any $match: the server always delivers it.
  const inserts = { $match: { operationType: 'insert' } };
  return slim ? [inserts, { $project: { fullDocument: 0 } }] : [inserts];
}

/**
 * The position of a change: its token, and its cluster time (a change that carries none — an
 * invalidate on some servers — is placed by the time inside its token, else at `fallback`).
 */
export function positionOfChange(
  change: StreamChange,
  fallback: Timestamp | undefined,
): Position | undefined {
  const token = change._id as ResumeToken;
  const at =
    ('clusterTime' in change ? change.clusterTime : undefined) ??
    clusterTimeOfToken(token) ??
    fallback;
  return at ? toPosition(token, at) : undefined;
}

/** The stored event of a slim (document-less) insert change; undefined when it is not stored. */
export async function readInsertedDocument(
  db: Db,
  change: StreamChange,
): Promise<RawEventDocument | undefined> {
  if (change.operationType !== 'insert') return undefined;
  const id: unknown = change.documentKey._id;
  const doc = await db.collection(EVENT_STORE).findOne({ _id: { $eq: id } } as Document);
  return doc ?? undefined;
}
