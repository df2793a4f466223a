import { Timestamp } from 'mongodb';
import type { ResumeToken } from '../../src/checkpoint/position.js';
import type { RawEventDocument } from '../../src/events/types.js';

/**
 * What the in-process source yields: a raw event_store document with the resume token and
 * cluster time a change stream would have delivered with it. Built before the clock starts,
 * as the driver would have decoded them; only turning them into a Position is timed (the
 * change-stream source does that per event too).
 */
export interface StreamEvent {
  raw: RawEventDocument;
  token: ResumeToken;
  clusterTime: Timestamp;
}

/** Cluster times as a busy server hands them out: one second, then up to 10,000 increments. */
export function createPositions(startSeconds = 1_700_000_000): () => {
  token: ResumeToken;
  clusterTime: Timestamp;
} {
  let n = 0;
  return () => {
    n++;
    return {
      token: { _data: `82${n.toString(16).padStart(24, '0')}` },
      clusterTime: new Timestamp({ t: startSeconds + Math.floor(n / 10_000), i: (n % 10_000) + 1 }),
    };
  };
}

export function toStream(raws: readonly RawEventDocument[]): StreamEvent[] {
  const next = createPositions();
  return raws.map((raw) => ({ raw, ...next() }));
}
