import { toError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';
import { classifyError } from '../source/errors.js';
import { LeaseLostError } from '../writer/batchWriter.js';
import { backoffDelay, sleep } from './backoff.js';
import { repairGap } from './gapRepair.js';
import type { Parking } from './parking.js';
import type { Persist } from './persist.js';
import { StoppedError, type EventItem, type LaneOptions, type Outcome } from './types.js';
import type { VersionMemory } from './versionMemory.js';

/**
 * Applying one event of a key, in the key's turn: duplicates are dropped, gaps repaired from
 * event_store first, parked keys record the event as waiting. A handler error is retried with
 * backoff; after `maxAttempts` (or at once for invalid input, an error naming a `field`) the
 * event is parked. Infrastructure errors are retried without limit and never blamed on the
 * event. In strict mode (rebuild) the first other error is thrown instead.
 */
export interface Applier {
  /** The key's next item: straight to the handler in the common case, else via `applyEvent`. */
  run(item: EventItem, key: string): Promise<Outcome>;
  /** With duplicate, gap and parking checks. */
  applyEvent(item: EventItem, key: string): Promise<Outcome>;
  /**
   * The handler with retries (parking still checked). `firstError`: the first attempt already
   * ran and failed so (the hot path's handler or write).
   */
  applyOne(item: EventItem, key: string, firstError?: Error): Promise<Outcome>;
}

export interface ApplierDeps {
  lane: LaneOptions;
  byAggregate: boolean;
  versions: VersionMemory;
  parking: Parking;
  persist: Persist;
  signal: AbortSignal;
  log: Logger;
}

function fieldOf(e: Error): string | undefined {
  const f = (e as Error & { field?: unknown }).field;
  return typeof f === 'string' ? f : undefined;
}

export function createApplier(d: ApplierDeps): Applier {
  const { lane: o, versions, parking, signal, log } = d;
  const parked = parking.parked;

  async function applyEvent(item: EventItem, key: string): Promise<Outcome> {
    const { event } = item;
    if (parked.has(key)) {
      await parking.recordWaiting(item, key);
      return 'waiting';
    }
    if (d.byAggregate) {
      const known = versions.get(event.aggregateId);
      if (known !== undefined && event.version <= known) return 'duplicate';
      if (known !== undefined && event.version > known + 1) {
        const repaired = await repairGap(item, key, known, { ...d, applyOne });
        if (repaired !== 'repaired')
          return repaired === 'parked' ? 'dead_lettered' : applyEvent(item, key);
      }
    }
    return applyOne(item, key);
  }

  async function applyOne(item: EventItem, key: string, firstError?: Error): Promise<Outcome> {
    const { event } = item;
    if (parked.has(key)) return applyEvent(item, key);
    const started = performance.now();
    let failedAlready = firstError;
    for (let attempt = 1; ; attempt++) {
      if (signal.aborted) throw new StoppedError();
      try {
        if (failedAlready) throw failedAlready;
        const outcome = await o.execute(event);
        if (d.byAggregate) versions.remember(event.aggregateId, event.version);
        o.onOutcome?.(event, outcome, performance.now() - started);
        return outcome;
      } catch (e) {
        failedAlready = undefined;
        const err = toError(e);
        if (err instanceof LeaseLostError) throw err;
        const kind = classifyError(err);
        // Fatal (no permission, a write concern the deployment cannot satisfy): no event is to
        // blame and no retry heals it, so the lane fails and the daemon stops with the error.
        if (kind === 'fatal') throw err;
        if (o.strict && kind !== 'infrastructure') {
          o.onFailed?.(event, err);
          throw err;
        }
        if (kind === 'infrastructure') {
          log.warn({ err, eventId: event.eventId }, 'database unavailable; retrying');
          await sleep(
            backoffDelay(Math.min(attempt, 8), o.retry.baseDelayMs || 50, o.retry.maxDelayMs),
            signal,
          );
          attempt--; // not the event's fault
          continue;
        }
        const field = fieldOf(err);
        if (field !== undefined || attempt >= o.retry.maxAttempts) {
          await parking.park(item, key, err, attempt, field);
          o.onOutcome?.(event, 'dead_lettered', performance.now() - started);
          return 'dead_lettered';
        }
        log.debug({ err, eventId: event.eventId, attempt }, 'handler failed; retrying');
        await sleep(backoffDelay(attempt, o.retry.baseDelayMs, o.retry.maxDelayMs), signal);
      }
    }
  }

  return {
    run(item, key) {
      // The common case — key not parked, the aggregate's next version (or one not seen) —
      // goes straight to the handler; duplicates, gaps and parked keys take applyEvent.
      const known = d.byAggregate ? versions.get(item.event.aggregateId) : undefined;
      const direct = !parked.has(key) && (known === undefined || item.event.version === known + 1);
      return direct ? applyOne(item, key) : applyEvent(item, key);
    },
    applyEvent,
    applyOne,
  };
}
