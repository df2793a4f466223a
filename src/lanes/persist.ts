import { toError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';
import { backoffDelay, sleep } from './backoff.js';
import { StoppedError } from './types.js';

/**
 * Runs a store call until it succeeds (the lane's own bookkeeping — dead letters, gap repair —
 * is never given up on; only a stop ends it, with StoppedError).
 */
export type Persist = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

export function createPersist(signal: AbortSignal, log: Logger, baseDelayMs: number): Persist {
  return async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (signal.aborted) throw new StoppedError();
        log.warn({ err: toError(e), attempt }, `${what} failed; retrying`);
        await sleep(backoffDelay(attempt, baseDelayMs || 50, 10_000), signal);
      }
    }
  };
}
