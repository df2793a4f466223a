import type { ModulePipeline } from '../dispatch/pipeline.js';
import { toError } from '../lib/errors.js';
import type { DaemonContext } from './context.js';
import { retryInvalid } from './invalidRetry.js';

/**
 * Polls for operators' retry/skip requests (`projectord dlq retry | skip`) every second and hands
 * each to the lane of its key's partition, once (a retry of an invalid event: invalidRetry.ts).
 * Returns the function that stops the polling.
 */
export function pollDeadLetterRequests(
  pipelines: () => readonly ModulePipeline[],
  c: DaemonContext,
): () => void {
  const { deadLetters, logger } = c;
  const submitted = new Set<string>();
  const timer = setInterval(() => {
    void (async () => {
      for (const p of pipelines()) {
        for (const r of await deadLetters.requests(p.module.name)) {
          // The key's own partition performs it, wherever that runs.
          if (!p.ownsKey(r.key)) continue;
          // One performance per request: a new request of the same entry has a new updatedAt.
          const request = `${r._id}:${r.status}:${r.updatedAt.getTime()}`;
          if (submitted.has(request)) continue;
          submitted.add(request);
          logger.info(
            { module: p.module.name, slot: p.slot.name, id: r._id, status: r.status },
            'performing a dead-letter request',
          );
          // An invalid event has no key: nothing is parked behind it.
          if (r.key === '') await retryInvalid(p, r, c, pipelines());
          else await p.lane.release(r);
        }
      }
    })().catch((e: unknown) => logger.warn({ err: toError(e) }, 'dead-letter poll failed'));
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}
