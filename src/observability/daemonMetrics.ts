import type { Db } from 'mongodb';
import {
  COMPLIANCE_REVIEW_SAGA,
  COMPLIANCE_SAGA_STATE,
} from '../../projections/compliance-review-saga.js';
import { FRAUD_SAGA, FRAUD_SAGA_STATE } from '../../projections/fraud-saga.js';
import type { ReviewState } from '../../projections/lib/saga-review-steps.js';
import { TRANSFER_SAGA_STATE } from '../../projections/lib/saga-transfer-state.js';
import { TRANSFER_SAGA } from '../../projections/transfer-saga.js';
import type { Config } from '../config/schema.js';
import { DEAD_LETTERS } from '../lanes/deadLetters.js';
import { toError } from '../lib/errors.js';
import { shownMode, type DaemonHooks, type ModuleStatus } from '../lifecycle/status.js';
import type { HealthReport } from './health.js';
import { evaluateModuleHealth } from './health.js';
import type { Logger } from './logger.js';
import { parseSlotName } from '../partitions/slots.js';
import {
  DEAD_LETTER_METRIC_STATUSES,
  STALL_ACTIONS,
  type DeadLetterMetricStatus,
  type Metrics,
  type SlotLabels,
} from './metrics.js';

/**
 * Connects the daemon to its metrics and health endpoint: hooks count outcomes as they happen;
 * a timer samples the per-module gauges; a slower one reads dead-letter and saga counts from
 * MongoDB (failures there only log: /metrics keeps answering while MongoDB is away). Saga
 * collections are the bank's (projections/): the saga metrics are defined by them.
 */
export const SAGA_COLLECTIONS: Readonly<Record<string, string>> = {
  [TRANSFER_SAGA]: TRANSFER_SAGA_STATE,
  [COMPLIANCE_REVIEW_SAGA]: COMPLIANCE_SAGA_STATE,
  [FRAUD_SAGA]: FRAUD_SAGA_STATE,
};

/** A slot name (`m` or `m#3`) as metric labels: partition "0" for a module not split. */
export function slotLabels(slot: string): SlotLabels {
  const { module, partition } = parseSlotName(slot);
  return { module, partition: String(partition ?? 0) };
}

export function metricsHooks(metrics: Metrics): DaemonHooks {
  return {
    onOutcome(slot, event, outcome, ms) {
      const labels = slotLabels(slot);
      metrics.eventsApplied.inc({ ...labels, event_type: event.eventType, outcome });
      // No partition label on the histogram: a handler's cost does not depend on it, and 14
      // buckets per partition would multiply its series for nothing.
      metrics.handlerDuration.observe({ module: labels.module }, ms / 1000);
    },
    onIgnored(eventType) {
      metrics.eventsApplied.inc({
        module: '*',
        partition: '*',
        event_type: eventType,
        outcome: 'ignored',
      });
    },
    onInvalid(module, eventType) {
      // Module-wide: an invalid event has no key, so no partition.
      metrics.eventsApplied.inc({
        module,
        partition: '*',
        event_type: eventType,
        outcome: 'dead_lettered',
      });
    },
    onRestart(reason) {
      metrics.changeStreamRestarts.inc({ reason });
    },
    onStall(slot, action) {
      metrics.streamStalls.inc({ ...slotLabels(slot), action });
    },
    onModeChange(slot, mode) {
      metrics.setModuleMode(slotLabels(slot), mode);
    },
    onCatchUpProgress(slot, progress, scannedDelta) {
      const labels = slotLabels(slot);
      metrics.catchUpEvents.inc(labels, scannedDelta);
      metrics.catchUpRemaining.set(labels, Math.max(0, progress.estimate - progress.scanned));
    },
    onCatchUpDone(slot) {
      const labels = slotLabels(slot);
      metrics.catchUpEvents.inc(labels, 0);
      metrics.catchUpRemaining.set(labels, 0);
    },
  };
}

export function lagMs(s: ModuleStatus, now: Date): number | null {
  if (s.oldestPendingAt === undefined) return 0;
  if (s.oldestPendingAt === null) return null;
  return Math.max(0, now.getTime() - s.oldestPendingAt.getTime());
}

export function healthReport(
  statuses: readonly ModuleStatus[],
  config: Config,
  now: Date,
): HealthReport {
  return {
    modules: statuses.map((s) => {
      const h = evaluateModuleHealth({
        mode: s.mode,
        lagMs: lagMs(s, now),
        maxLagMs: config.health.maxLagMs,
        lastProgressAt: new Date(s.lastProgressAt),
        pendingEvents: s.pending,
        stuckAfterMs: config.health.stuckAfterMs,
        now,
        ...(s.stalledSince ? { stalledSince: s.stalledSince } : {}),
      });
      return { name: s.slot, ready: h.ready, reason: h.reason };
    }),
  };
}

/** What the slow sampler reads from MongoDB in one pass. */
export interface DatabaseCounts {
  /**
   * Unfinished dead letters by module and status (DEAD_LETTER_METRIC_STATUSES): every module in
   * the collection, owned or not.
   */
  deadLetters: ReadonlyMap<string, ReadonlyMap<DeadLetterMetricStatus, number>>;
  /** Instances by state, for each saga that ran on this instance when it was read. */
  sagaStates: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** Open reviews past their deadline; undefined when the review saga did not run here. */
  overdueReviews?: number;
}

/**
 * A review that completed or timed out is closed: `timed_out` keeps `overdue: true` for the
 * record, so the metric must leave it out. Typed by the saga's own states, so a renamed state
 * fails the build here instead of silently counting nothing.
 */
const CLOSED_REVIEW_STATES = ['completed', 'timed_out'] as const satisfies readonly ReviewState[];

export async function readDatabaseCounts(
  db: Db,
  running: ReadonlySet<string>,
): Promise<DatabaseCounts> {
  const letters = await db
    .collection(DEAD_LETTERS)
    .aggregate<{ _id: { module: unknown; status: DeadLetterMetricStatus }; n: number }>([
      { $match: { status: { $in: [...DEAD_LETTER_METRIC_STATUSES] } } },
      { $group: { _id: { module: '$module', status: '$status' }, n: { $sum: 1 } } },
    ])
    .toArray();
  const deadLetters = new Map<string, Map<DeadLetterMetricStatus, number>>();
  for (const l of letters) {
    const module = String(l._id.module);
    const byStatus = deadLetters.get(module) ?? new Map<DeadLetterMetricStatus, number>();
    deadLetters.set(module, byStatus.set(l._id.status, l.n));
  }
  const sagaStates = new Map<string, Map<string, number>>();
  for (const [saga, collection] of Object.entries(SAGA_COLLECTIONS)) {
    if (!running.has(saga)) continue;
    const states = await db
      .collection(collection)
      .aggregate<{ _id: unknown; n: number }>([{ $group: { _id: '$state', n: { $sum: 1 } } }])
      .toArray();
    sagaStates.set(saga, new Map(states.map((st) => [String(st._id), st.n])));
  }
  const counts: DatabaseCounts = { deadLetters, sagaStates };
  if (running.has(COMPLIANCE_REVIEW_SAGA)) {
    counts.overdueReviews = await db
      .collection(COMPLIANCE_SAGA_STATE)
      .countDocuments({ overdue: true, state: { $nin: [...CLOSED_REVIEW_STATES] } });
  }
  return counts;
}

export interface MetricsSampler {
  /** Per-module gauges from `status()`; forgets the modules that left it since the last call. */
  sampleModules(): void;
  /** Applies counts read by `readDatabaseCounts`, for the modules in `status()` now. */
  applyDatabaseCounts(counts: DatabaseCounts): void;
}

/**
 * The sampling itself, without timers (tests call it directly). Only slots in `status()` — the
 * modules and partitions running on this instance — are exported: with several instances each
 * slot's series come from its one owner, so `sum()` over instances counts every partition once.
 * Module-wide series read from MongoDB (dead letters, saga states, overdue reviews) come from the
 * owner of the module's partition 0 alone, for the same reason. A slot that leaves `status()`
 * (lease lost, handed over) has its series removed here.
 */
export function createMetricsSampler(o: {
  metrics: Metrics;
  config: Config;
  status(): ModuleStatus[];
  now?(): Date;
}): MetricsSampler {
  const now = o.now ?? (() => new Date());
  const { metrics } = o;
  const exportedSlots = new Set<string>();
  const reporting = new Set<string>();
  const sagaSeries = new Map<string, ReadonlySet<string>>();
  // Invalid dead letters per module, from the last database read: the module's shown mode counts
  // them as it counts parked aggregates (DESIGN.md "Invalid events").
  const invalid = new Map<string, number>();
  /** Modules whose module-wide series this instance reports: it runs their partition 0. */
  const reporters = (statuses: readonly ModuleStatus[]) =>
    new Set(statuses.filter((s) => s.partition === 0).map((s) => s.module));

  function forgetModule(module: string): void {
    metrics.forgetDeadLetters(module);
    for (const state of sagaSeries.get(module) ?? []) {
      metrics.sagaInstances.remove({ saga: module, state });
    }
    sagaSeries.delete(module);
    // Label-less: a non-owner reports 0 so a sum over instances stays right.
    if (module === COMPLIANCE_REVIEW_SAGA) metrics.overdueComplianceReviews.set(0);
    invalid.delete(module);
    reporting.delete(module);
  }

  /** New values first, then the states gone since the last sample: no scrape sees a gap. */
  function setSagaStates(saga: string, states: ReadonlyMap<string, number>): void {
    for (const [state, n] of states) metrics.sagaInstances.set({ saga, state }, n);
    for (const state of sagaSeries.get(saga) ?? []) {
      if (!states.has(state)) metrics.sagaInstances.remove({ saga, state });
    }
    sagaSeries.set(saga, new Set(states.keys()));
  }

  return {
    sampleModules() {
      const at = now();
      const statuses = o.status();
      const running = new Set(statuses.map((s) => s.slot));
      for (const slot of exportedSlots) {
        if (running.has(slot)) continue;
        metrics.forgetModule(slotLabels(slot));
        exportedSlots.delete(slot);
      }
      const modules = reporters(statuses);
      for (const module of reporting) if (!modules.has(module)) forgetModule(module);
      for (const s of statuses) {
        const m = slotLabels(s.slot);
        metrics.queueDepth.set(m, s.pending);
        metrics.aggregatesInFlight.set(m, s.activeKeys);
        metrics.lag.set(m, (lagMs(s, at) ?? 0) / 1000);
        if (s.lastSavedAt)
          metrics.checkpointAge.set(m, (at.getTime() - s.lastSavedAt.getTime()) / 1000);
        metrics.setModuleMode(m, shownMode(s.mode, s.parkedKeys + (invalid.get(s.module) ?? 0)));
        // At 0 from the slot's first sample, so `increase()` sees its first stall.
        for (const action of STALL_ACTIONS) metrics.streamStalls.inc({ ...m, action }, 0);
        exportedSlots.add(s.slot);
      }
      for (const h of healthReport(statuses, o.config, at).modules) {
        metrics.moduleHealthy.set(slotLabels(h.name), h.ready ? 1 : 0);
      }
    },
    applyDatabaseCounts(counts) {
      // Read again: a module handed over while MongoDB answered is no longer ours to report.
      const running = reporters(o.status());
      for (const module of running) {
        const byStatus = counts.deadLetters.get(module);
        for (const status of DEAD_LETTER_METRIC_STATUSES) {
          metrics.deadLetters.set({ module, status }, byStatus?.get(status) ?? 0);
        }
        invalid.set(module, byStatus?.get('invalid') ?? 0);
        reporting.add(module);
      }
      for (const [saga, states] of counts.sagaStates) {
        if (running.has(saga)) setSagaStates(saga, states);
      }
      if (counts.overdueReviews !== undefined && running.has(COMPLIANCE_REVIEW_SAGA)) {
        metrics.overdueComplianceReviews.set(counts.overdueReviews);
      }
    },
  };
}

/** Sampling periods: per-module gauges are cheap (memory); database counts cost queries. */
export const SAMPLE_INTERVALS = { modulesMs: 1000, databaseMs: 5000 } as const;

export function startMetricsSampler(o: {
  db: Db;
  metrics: Metrics;
  config: Config;
  status(): ModuleStatus[];
  logger: Logger;
  now?(): Date;
  intervals?: { modulesMs?: number; databaseMs?: number };
}): () => void {
  const sampler = createMetricsSampler(o);
  const fast = setInterval(
    () => sampler.sampleModules(),
    o.intervals?.modulesMs ?? SAMPLE_INTERVALS.modulesMs,
  );
  const slow = setInterval(() => {
    const running = new Set(o.status().flatMap((s) => (s.partition === 0 ? [s.module] : [])));
    void readDatabaseCounts(o.db, running)
      .then((counts) => sampler.applyDatabaseCounts(counts))
      .catch((e: unknown) =>
        o.logger.debug({ err: toError(e) }, 'metrics: could not read counts from MongoDB'),
      );
  }, o.intervals?.databaseMs ?? SAMPLE_INTERVALS.databaseMs);
  fast.unref();
  slow.unref();
  return () => {
    clearInterval(fast);
    clearInterval(slow);
  };
}
