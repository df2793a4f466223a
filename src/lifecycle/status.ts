import type { CatchUpProgress, ModuleMode } from '../checkpoint/store.js';
import type { ProjectorEvent } from '../events/types.js';
import type { Outcome } from '../lanes/lane.js';
import type { StallAction } from '../observability/metrics.js';

/** What the daemon tells observers (metrics, /readyz, the demo) about each module. */
export interface ModuleStatus {
  module: string;
  /** The slot's name: the module's, or `<module>#<partition>` (partitions/slots.ts). */
  slot: string;
  partition: number;
  /** The module's partition count. */
  partitions: number;
  kind: 'projection' | 'reaction';
  mode: ModuleMode;
  /** Stream events registered and not finished. */
  pending: number;
  inFlight: number;
  activeKeys: number;
  parkedKeys: number;
  lastProgressAt: number;
  /** Append time of the newest event covered by the saved checkpoint. */
  lastEventAt: Date | null;
  lastSavedAt: Date | null;
  /** Append time of the oldest event not yet finished (undefined: nothing pending). */
  oldestPendingAt: Date | null | undefined;
  /** Since when the slot is stalled (stuck ≠ quiet: lifecycle/stallWatch.ts); absent: not. */
  stalledSince?: Date;
}

/**
 * The mode an operator sees: a live module holding parked aggregates (open dead letters) shows
 * `parked`. It is still live — other aggregates go on (invariant 6) and it stays ready — but
 * some of its aggregates wait for `projectord dlq retry | skip`.
 */
export function shownMode(mode: ModuleMode, parkedAggregates: number): ModuleMode {
  return mode === 'live' && parkedAggregates > 0 ? 'parked' : mode;
}

/**
 * Injected observers; every one is optional (STYLE.md 14: no "are metrics on?" in the core).
 * `slot` is a slot name: the module's own, or `<module>#<partition>` (partitions/slots.ts).
 */
export interface DaemonHooks {
  onOutcome?(slot: string, event: ProjectorEvent, outcome: Outcome, ms: number): void;
  onIgnored?(eventType: string): void;
  /** An event dead-lettered as invalid (a bad envelope or a failing upcaster) for `module`. */
  onInvalid?(module: string, eventType: string): void;
  onRestart?(reason: string): void;
  onStreamOpen?(): void;
  /** A stalled stream was repaired for `slot` (reopened, rescanned, client-replaced). */
  onStall?(slot: string, action: StallAction): void;
  /** Lease fencing: false = the slot's writes are not sent. */
  canWrite?(slot: string): boolean;
  onModeChange?(slot: string, mode: ModuleMode): void;
  /** Catch-up progress was saved: `scannedDelta` events scanned since the last save. */
  onCatchUpProgress?(slot: string, progress: CatchUpProgress, scannedDelta: number): void;
  /** The slot's catch-up finished; it follows the live stream. */
  onCatchUpDone?(slot: string): void;
}
