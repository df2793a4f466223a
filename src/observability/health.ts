import type { ModuleMode } from './metrics.js';

/**
 * Readiness of the modules this instance owns (DESIGN.md invariant 10: stuck is not quiet).
 *
 * A module is ready when it is live, not stuck and not lagging. "Stuck" means work is waiting
 * and the lane has made no progress for `stuckAfterMs`; "lagging" means work is waiting and
 * the oldest waiting event was appended more than `maxLagMs` ago. A quiet module with nothing
 * pending is healthy however old its last event is: an idle store is not a failure.
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
