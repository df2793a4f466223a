import type { Db } from 'mongodb';
import { createLeaseManager } from '../../src/leases/leaseManager.js';
import { silentLogger } from '../../src/observability/logger.js';

/**
 * A lease manager for one instance with a clock of its own, moved by hand: lease tests decide
 * expiry by the clock, never by waiting. Every instance starts at LEASE_T0 unless told otherwise.
 */
export const LEASE_TTL = 10_000;
export const LEASE_MARGIN = 2_000;
export const LEASE_T0 = Date.parse('2025-03-01T00:00:00Z');

export function clockedLeaseManager(db: Db, instanceId: string, startMs = LEASE_T0) {
  let nowMs = startMs;
  const manager = createLeaseManager({
    db,
    instanceId,
    ttlMs: LEASE_TTL,
    heartbeatMs: 3_000,
    safetyMarginMs: LEASE_MARGIN,
    clock: () => new Date(nowMs),
    logger: silentLogger(),
  });
  return {
    manager,
    advance: (ms: number) => (nowMs += ms),
    /** The date `ms` after LEASE_T0. */
    at: (ms: number) => new Date(LEASE_T0 + ms),
  };
}
