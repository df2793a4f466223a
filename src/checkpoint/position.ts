import { Timestamp, type Document } from 'mongodb';

/** A change-stream resume token (`{ _data: … }`); opaque outside this file. */
export type ResumeToken = Document;

/**
 * A position in the event_store change stream. `clusterTime` orders positions; `token` (when
 * known) resumes a stream exactly after the event. A position without a token (after a catch-up
 * scan) resumes with startAtOperationTime; the events it repeats are removed by the guards.
 * Nothing outside this file builds or compares positions by hand.
 */
declare const positionBrand: unique symbol;

export interface Position {
  readonly token: ResumeToken | null;
  readonly clusterTime: Timestamp;
  readonly [positionBrand]: true;
}

export function toPosition(token: ResumeToken | null, clusterTime: Timestamp): Position {
  return { token, clusterTime } as Position;
}

/** Restores a position from a stored checkpoint document; undefined when it holds none. */
export function positionFromStored(
  stored: Readonly<Record<string, unknown>>,
): Position | undefined {
  if (!(stored.clusterTime instanceof Timestamp)) return undefined;
  const token = stored.token === undefined ? null : (stored.token as ResumeToken | null);
  return toPosition(token, stored.clusterTime);
}

export function compareTimestamps(a: Timestamp, b: Timestamp): number {
  return a.t !== b.t ? (a.t < b.t ? -1 : 1) : a.i === b.i ? 0 : a.i < b.i ? -1 : 1;
}

export function comparePositions(a: Position, b: Position): number {
  return compareTimestamps(a.clusterTime, b.clusterTime);
}

/** Whether two positions are the very same stream entry (same time, same token). */
export function samePosition(a: Position, b: Position): boolean {
  return (
    compareTimestamps(a.clusterTime, b.clusterTime) === 0 &&
    JSON.stringify(a.token) === JSON.stringify(b.token)
  );
}

/**
 * The position a stream serving all of `positions` must start from. Events of one transaction
 * (a transfer's debit and credit) share a cluster time and differ only by their tokens. Tokens
 * are not ordered here (their byte order is an internal encoding that changes between token
 * versions: SERVER-29716, SERVER-66870), so two different tokens at the lowest time give a
 * token-less position at that time: startAtOperationTime replays every event of that time, and
 * each module's checkpoint and guards drop what it had already applied. Resuming after either
 * token would skip the other module's rest of the transaction.
 */
export function minPosition(positions: readonly Position[]): Position | undefined {
  let min: Position | undefined;
  for (const p of positions) {
    const c = min ? comparePositions(p, min) : -1;
    if (c < 0) min = p;
    else if (c === 0 && min && min.token !== null && !samePosition(p, min)) {
      min = p.token === null ? p : toPosition(null, min.clusterTime);
    }
  }
  return min;
}

/**
 * The cluster time a resume token stands at, read from the token itself; undefined when the
 * token has another format. A real server's token is a hex string whose first 9 bytes are a
 * KeyString-encoded Timestamp: type byte 0x82, then t and i as big-endian uint32 (the server's
 * own fast path reads just these 18 hex digits: SERVER-133517). The embedded fallback's token is
 * those 8 bytes alone. An idle (post-batch) token must be paired with its own time, not with the
 * last event's: a module that joined the stream later would refuse the older time as "behind".
 */
export function clusterTimeOfToken(token: ResumeToken | null | undefined): Timestamp | undefined {
  const data: unknown = token?._data;
  if (typeof data !== 'string') return undefined;
  const hex = /^82([0-9a-f]{16})/i.exec(data)?.[1] ?? (/^[0-9a-f]{16}$/i.test(data) ? data : null);
  if (!hex) return undefined;
  const t = Number.parseInt(hex.slice(0, 8), 16);
  const i = Number.parseInt(hex.slice(8, 16), 16);
  return t > 0 ? new Timestamp({ t, i }) : undefined;
}

/** A cluster time `marginMs` before the given wall-clock time (used when the server reports none). */
export function clusterTimeFromDate(date: Date, marginMs = 0): Timestamp {
  return new Timestamp({ t: Math.max(0, Math.floor((date.getTime() - marginMs) / 1000)), i: 0 });
}

export function clusterTimeToDate(ts: Timestamp): Date {
  return new Date(ts.t * 1000);
}
