import { deadline } from '../../src/lib/timeout.js';

/** Waits for `p`, or fails naming what did not happen in time (a benchmark never hangs). */
export const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  deadline(p, ms, () => new Error(`timed out after ${ms} ms waiting for ${what}`));

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
