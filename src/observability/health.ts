import { toError } from '../lib/errors.js';
import { deadline } from '../lib/timeout.js';
import type { ModuleMode } from './metrics.js';

/**
 * Readiness of the modules this instance owns (DESIGN.md invariant 10: stuck is not quiet).
 *
 * A module is ready when it is live, not stuck, not stalled and not lagging. "Stuck" means work
 * is waiting and the lane has made no progress for `stuckAfterMs`; "stalled" means nothing is
 * pending while event_store holds a newer event the module handles (the stream stopped
 * delivering: lifecycle/stallWatch.ts); "lagging" means work is waiting and the oldest waiting
 * event was appended more than `maxLagMs` ago. A quiet module with nothing pending is healthy
 * however old its last event is: an idle store is not a failure.
 */
export interface ModuleHealth {
  name: string;
  ready: boolean;
  /** Why the module is not ready; null when it is. */
  reason: string | null;
}

export interface HealthReport {
  modules: readonly ModuleHealth[];
  /** Set while the whole instance is not ready (e.g. starting, no connection yet). */
  notReadyReason?: string;
}

export interface ModuleHealthInput {
  mode: ModuleMode;
  /** now − append time of the oldest event not yet finished (0: none pending; null: unknown). */
  lagMs: number | null;
  maxLagMs: number;
  /** When the lane last finished an event, or when it started if it has finished none. */
  lastProgressAt: Date;
  /** Events accepted by the lane (or known to wait in the source) and not yet finished. */
  pendingEvents: number;
  stuckAfterMs: number;
  now: Date;
  /** Since when the stream is stalled for the module (lifecycle/stallWatch.ts); absent: not. */
  stalledSince?: Date;
}

export interface ModuleHealthStatus {
  ready: boolean;
  stuck: boolean;
  reason: string | null;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function check(ok: boolean, what: string, value: unknown): void {
  // Programmer errors (the engine computes these values), not user input: fail loudly.
  if (!ok) throw new RangeError(`evaluateModuleHealth: ${what} (got ${String(value)})`);
}

export function evaluateModuleHealth(input: ModuleHealthInput): ModuleHealthStatus {
  const { mode, lagMs, maxLagMs, lastProgressAt, pendingEvents, stuckAfterMs, now } = input;
  check(Number.isFinite(maxLagMs) && maxLagMs > 0, 'maxLagMs must be > 0', maxLagMs);
  check(
    Number.isFinite(stuckAfterMs) && stuckAfterMs > 0,
    'stuckAfterMs must be > 0',
    stuckAfterMs,
  );
  check(
    Number.isInteger(pendingEvents) && pendingEvents >= 0,
    'pendingEvents must be an integer >= 0',
    pendingEvents,
  );
  check(lagMs === null || !Number.isNaN(lagMs), 'lagMs must be a number or null', lagMs);
  check(
    !Number.isNaN(lastProgressAt.getTime()),
    'lastProgressAt must be a valid Date',
    lastProgressAt,
  );
  check(!Number.isNaN(now.getTime()), 'now must be a valid Date', now);

  const idleMs = now.getTime() - lastProgressAt.getTime();
  if (pendingEvents > 0 && idleMs >= stuckAfterMs) {
    return {
      ready: false,
      stuck: true,
      reason: `stuck: ${pendingEvents} event(s) waiting and no progress for ${seconds(idleMs)} (limit ${seconds(stuckAfterMs)})`,
    };
  }
  if (input.stalledSince) {
    const forMs = Math.max(0, now.getTime() - input.stalledSince.getTime());
    return {
      ready: false,
      stuck: false,
      reason: `stalled: nothing pending while event_store holds a newer event it handles, for ${seconds(forMs)}; the stream is being repaired`,
    };
  }
  if (mode !== 'live') return { ready: false, stuck: false, reason: mode };
  if (pendingEvents > 0 && lagMs !== null && lagMs > maxLagMs) {
    return {
      ready: false,
      stuck: false,
      reason: `lagging: ${seconds(lagMs)} behind with ${pendingEvents} event(s) waiting (limit ${seconds(maxLagMs)})`,
    };
  }
  return { ready: true, stuck: false, reason: null };
}

/** The instance is ready when nothing marks it not ready and every owned module is ready. */
export function isReady(report: HealthReport): boolean {
  return report.notReadyReason === undefined && report.modules.every((m) => m.ready);
}

/**
 * Whether MongoDB can be counted on now, for /readyz (ready needs MongoDB reachable). Two
 * signals, because each misses what the other sees:
 *  - the change stream's hooks: a restart makes the instance not ready until the stream has
 *    re-opened. Exact about "not following the store", free, and blind to load. But they see
 *    only what the stream sees: a read on a silently partitioned connection fails only after
 *    mongo.operationTimeoutMs (30 s); an epoch that fails first on a checkpoint write ends the
 *    stream without a hook and retries without re-opening it; and once the leases lapse the
 *    instance owns no module and runs no stream at all. With connections cut, hooks alone never
 *    reported the outage (test/int/readyzOutage.int.test.ts).
 *  - a ping on the daemon's own client, one at a time, its answer reused for `pingEveryMs` and
 *    waited for at most `pingTimeoutMs`: catches an outage within seconds whatever the daemon is
 *    doing. A ping alone would miss a stream that keeps failing while pings pass.
 * A stream that re-opens has just had MongoDB's answer, so it counts as a fresh ping: after a
 * short restart the instance is ready again at once, and an older failed ping landing late
 * cannot undo that. A restart counts only while the daemon runs modules (`following`): a
 * standby that owns none never re-opens a stream, and must not stay unready for a past one.
 */
export interface ConnectionWatch {
  onRestart(reason: string): void;
  onStreamOpen(): void;
  /** Why MongoDB cannot be counted on, or undefined. Never rejects; waits ≤ pingTimeoutMs. */
  notReadyReason(following: boolean): Promise<string | undefined>;
}

export interface ConnectionWatchOptions {
  /** One round trip to the server; `signal` aborts at pingTimeoutMs. */
  ping(signal: AbortSignal): Promise<unknown>;
  pingTimeoutMs: number;
  pingEveryMs: number;
  /** Monotonic milliseconds; injected in tests. */
  now?(): number;
}

export function createConnectionWatch(o: ConnectionWatchOptions): ConnectionWatch {
  const now = o.now ?? (() => performance.now());
  let restart: { reason: string; at: number } | undefined;
  // `at` is when the answer was asked for: the cache never outlives what the answer says.
  let last: { at: number; error: string | undefined } | undefined;

  type Flight = { startedAt: number; result: Promise<string | undefined> };
  let inFlight: Flight | undefined;

  function startPing(): Flight {
    const startedAt = now();
    const flight: Flight = {
      startedAt,
      result: o.ping(AbortSignal.timeout(o.pingTimeoutMs)).then(
        () => settle(undefined),
        (e: unknown) => settle(`ping failed: ${toError(e).message}`),
      ),
    };
    function settle(error: string | undefined): string | undefined {
      if (!last || last.at <= startedAt) last = { at: startedAt, error };
      if (inFlight === flight) inFlight = undefined;
      return error;
    }
    inFlight = flight;
    return flight;
  }

  async function pingError(): Promise<string | undefined> {
    const t = now();
    if (last && t - last.at < o.pingEveryMs) return last.error;
    // One ping at a time; one older than its timeout is abandoned (its signal aborts it).
    const flight = inFlight && t - inFlight.startedAt < o.pingTimeoutMs ? inFlight : startPing();
    const waitMs = Math.max(1, o.pingTimeoutMs - (t - flight.startedAt));
    return deadline(flight.result, waitMs, () => new Error('no answer')).catch(
      () => `no answer to a ping within ${o.pingTimeoutMs} ms`,
    );
  }

  return {
    onRestart(reason) {
      restart ??= { reason, at: now() };
    },
    onStreamOpen() {
      restart = undefined;
      last = { at: now(), error: undefined };
    },
    async notReadyReason(following) {
      const reasons: string[] = [];
      if (following && restart) reasons.push(describeRestart(restart.reason, now() - restart.at));
      const error = await pingError();
      if (error) reasons.push(`MongoDB unreachable: ${error}`);
      return reasons.length > 0 ? reasons.join('; ') : undefined;
    },
  };
}

function describeRestart(reason: string, forMs: number): string {
  if (reason === 'history_lost') {
    return 'the change stream lost its resume position from the oplog: catching up from event_store before re-opening it';
  }
  return `MongoDB unreachable: the change stream failed (${reason}) ${seconds(forMs)} ago and is re-opening`;
}
