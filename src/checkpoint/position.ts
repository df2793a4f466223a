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

export function minPosition(positions: readonly Position[]): Position | undefined {
  let min: Position | undefined;
  for (const p of positions) {
    if (!min || comparePositions(p, min) < 0 || (comparePositions(p, min) === 0 && !p.token)) {
      min = p;
    }
  }
  return min;
}

/** A cluster time `marginMs` before the given wall-clock time (used when the server reports none). */
export function clusterTimeFromDate(date: Date, marginMs = 0): Timestamp {
  return new Timestamp({ t: Math.max(0, Math.floor((date.getTime() - marginMs) / 1000)), i: 0 });
}

export function clusterTimeToDate(ts: Timestamp): Date {
  return new Date(ts.t * 1000);
}
