import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ErrorClass } from '../source/errors.js';

/**
 * Every metric projectord exposes (DESIGN.md "Metrics"), in one table: names are a contract
 * with users' dashboards and alerts, so they change only deliberately, with the docs
 * (`metricsReference()` renders this table for the README).
 *
 * Each `createMetrics()` call builds its own Registry: no global registry, so several daemons
 * (or tests) in one process never collide on "metric already registered".
 */
export const EVENT_OUTCOMES = [
  'applied',
  'duplicate',
  'skipped',
  'dead_lettered',
  'ignored',
] as const;
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];

/** The values of projector_checkpoints.mode. */
export const MODULE_MODES = ['catching-up', 'live', 'rebuilding', 'parked'] as const;
export type ModuleMode = (typeof MODULE_MODES)[number];

/**
 * The reasons the engine reopens the change stream with (source/changeStream.ts reports the
 * error class it resumes after; the daemon reports `history_lost` when it resyncs). Exported at 0
 * from the start so `increase()` sees the first restart and dashboards show "none" as 0.
 */
export const RESTART_REASONS = [
  'infrastructure',
  'other',
  'history_lost',
  'invalidated',
] as const satisfies readonly (
  Exclude<ErrorClass, 'historyLost' | 'fatal'> | 'history_lost' | 'invalidated'
)[];

/**
 * The dead-letter statuses `projectord_dead_letters` reports, each its own series (0 when none):
 * entries an operator still has to act on (parked, invalid), requests not yet performed, and the
 * events waiting behind a parked one. Finished entries (resolved, skipped) are not counted.
 */
export const DEAD_LETTER_METRIC_STATUSES = [
  'parked',
  'invalid',
  'waiting',
  'retry-requested',
  'skip-requested',
] as const;
export type DeadLetterMetricStatus = (typeof DEAD_LETTER_METRIC_STATUSES)[number];

/** What the daemon did about a stalled stream (stuck ≠ quiet; DESIGN.md "Stalls"). */
export const STALL_ACTIONS = ['reopened', 'rescanned', 'client-replaced'] as const;
export type StallAction = (typeof STALL_ACTIONS)[number];

export const METRICS = {
  eventsApplied: {
    name: 'projectord_events_applied_total',
    type: 'counter',
    labels: ['module', 'partition', 'event_type', 'outcome'],
    help: `Events a module finished, by outcome (${EVENT_OUTCOMES.join(', ')}).`,
  },
  handlerDuration: {
    name: 'projectord_handler_duration_seconds',
    type: 'histogram',
    labels: ['module'],
    help: 'Time one module handler took on one event, retries excluded.',
  },
  lag: {
    name: 'projectord_lag_seconds',
    type: 'gauge',
    labels: ['module', 'partition'],
    help: 'End-to-end lag: now minus the append time of the oldest event the module has not finished yet; 0 when nothing is pending.',
  },
  checkpointAge: {
    name: 'projectord_checkpoint_age_seconds',
    type: 'gauge',
    labels: ['module', 'partition'],
    help: 'Time since the module last saved its checkpoint.',
  },
  queueDepth: {
    name: 'projectord_queue_depth',
    type: 'gauge',
    labels: ['module', 'partition'],
    help: 'Events accepted into the module lane and not yet finished.',
  },
  aggregatesInFlight: {
    name: 'projectord_aggregates_in_flight',
    type: 'gauge',
    labels: ['module', 'partition'],
    help: 'Aggregates the module lane is running at this moment.',
  },
  deadLetters: {
    name: 'projectord_dead_letters',
    type: 'gauge',
    labels: ['module', 'status'],
    help: `Dead letters of the module not finished, by status (${DEAD_LETTER_METRIC_STATUSES.join(', ')}): parked and invalid ones wait for projectord dlq retry or skip.`,
  },
  streamStalls: {
    name: 'projectord_stream_stalls_total',
    type: 'counter',
    labels: ['module', 'partition', 'action'],
    help: `Stalls repaired: the module had nothing pending while event_store held a newer event it handles for longer than health.stallMs; by action (${STALL_ACTIONS.join(', ')}).`,
  },
  changeStreamRestarts: {
    name: 'projectord_change_stream_restarts_total',
    type: 'counter',
    labels: ['reason'],
    help: 'Times the change stream was reopened, by reason (e.g. transient error, history lost).',
  },
  sagaInstances: {
    name: 'projectord_saga_instances',
    type: 'gauge',
    labels: ['saga', 'state'],
    help: 'Saga instances by saga and state.',
  },
  overdueComplianceReviews: {
    name: 'projectord_compliance_reviews_overdue',
    type: 'gauge',
    labels: [],
    help: 'Compliance reviews past their review deadline and not completed.',
  },
  moduleInfo: {
    name: 'projectord_module_info',
    type: 'gauge',
    labels: ['module', 'partition', 'mode'],
    help: `1 for the module's current mode (${MODULE_MODES.join(', ')}); one series per module partition.`,
  },
  catchUpEvents: {
    name: 'projectord_catchup_events_total',
    type: 'counter',
    labels: ['module', 'partition'],
    help: "Events of event_store a module's catch-up scan has passed and saved as progress (handled by the module or not).",
  },
  catchUpRemaining: {
    name: 'projectord_catchup_remaining_events',
    type: 'gauge',
    labels: ['module', 'partition'],
    help: "Estimate of the events a module's catch-up still has to scan (event_store's estimated size when it began, minus those scanned); 0 once it has finished.",
  },
  moduleHealthy: {
    name: 'projectord_module_healthy',
    type: 'gauge',
    labels: ['module', 'partition'],
    help: '1 when the module is ready, 0 when it is stuck, lagging or not live.',
  },
} as const;

export type MetricKey = keyof typeof METRICS;

/**
 * The labels of one slot's series: the module and its partition ("0" for a module that is not
 * split). Per-partition series come from the partition's owner only, so a `sum by (module)`
 * over instances counts every partition once.
 */
export interface SlotLabels {
  module: string;
  partition: string;
}
type LabelsOf<K extends MetricKey> = (typeof METRICS)[K]['labels'][number];

/** Seconds; from sub-millisecond guarded upserts to handlers that wait on a slow server. */
export const HANDLER_DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

export interface Metrics {
  readonly registry: Registry;
  readonly eventsApplied: Counter<LabelsOf<'eventsApplied'>>;
  readonly handlerDuration: Histogram<LabelsOf<'handlerDuration'>>;
  readonly lag: Gauge<LabelsOf<'lag'>>;
  readonly checkpointAge: Gauge<LabelsOf<'checkpointAge'>>;
  readonly queueDepth: Gauge<LabelsOf<'queueDepth'>>;
  readonly aggregatesInFlight: Gauge<LabelsOf<'aggregatesInFlight'>>;
  readonly deadLetters: Gauge<LabelsOf<'deadLetters'>>;
  readonly streamStalls: Counter<LabelsOf<'streamStalls'>>;
  readonly changeStreamRestarts: Counter<LabelsOf<'changeStreamRestarts'>>;
  readonly sagaInstances: Gauge<LabelsOf<'sagaInstances'>>;
  readonly overdueComplianceReviews: Gauge;
  readonly moduleInfo: Gauge<LabelsOf<'moduleInfo'>>;
  readonly moduleHealthy: Gauge<LabelsOf<'moduleHealthy'>>;
  readonly catchUpEvents: Counter<LabelsOf<'catchUpEvents'>>;
  readonly catchUpRemaining: Gauge<LabelsOf<'catchUpRemaining'>>;
  /** Sets the slot's mode series to 1 and removes its other modes, so a sum by slot is 1. */
  setModuleMode(slot: SlotLabels, mode: ModuleMode): void;
  /**
   * Removes every per-slot gauge series of `slot` (lag, checkpoint age, queue depth, aggregates
   * in flight, info, healthy): called when the slot no longer runs on this instance, so with
   * several instances only its owner reports it. Counters and the histogram stay (they are
   * cumulative; a sum over instances stays right).
   */
  forgetModule(slot: SlotLabels): void;
  /** Removes the module's dead-letter series of every status (its partition 0 moved elsewhere). */
  forgetDeadLetters(module: string): void;
  /** The Prometheus text exposition of everything in `registry`. */
  render(): Promise<string>;
  readonly contentType: string;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  const def = <K extends MetricKey>(k: K) => ({
    name: METRICS[k].name,
    help: METRICS[k].help,
    labelNames: [...METRICS[k].labels] as LabelsOf<K>[],
    registers,
  });
  const moduleInfo = new Gauge(def('moduleInfo'));
  const perSlot = {
    lag: new Gauge(def('lag')),
    checkpointAge: new Gauge(def('checkpointAge')),
    queueDepth: new Gauge(def('queueDepth')),
    aggregatesInFlight: new Gauge(def('aggregatesInFlight')),
    moduleHealthy: new Gauge(def('moduleHealthy')),
    catchUpRemaining: new Gauge(def('catchUpRemaining')),
  };
  const deadLetters = new Gauge(def('deadLetters'));
  const changeStreamRestarts = new Counter(def('changeStreamRestarts'));
  for (const reason of RESTART_REASONS) changeStreamRestarts.inc({ reason }, 0);
  const metrics: Metrics = {
    registry,
    eventsApplied: new Counter(def('eventsApplied')),
    handlerDuration: new Histogram({
      ...def('handlerDuration'),
      buckets: [...HANDLER_DURATION_BUCKETS],
    }),
    ...perSlot,
    deadLetters,
    streamStalls: new Counter(def('streamStalls')),
    changeStreamRestarts,
    catchUpEvents: new Counter(def('catchUpEvents')),
    sagaInstances: new Gauge(def('sagaInstances')),
    overdueComplianceReviews: new Gauge({
      name: METRICS.overdueComplianceReviews.name,
      help: METRICS.overdueComplianceReviews.help,
      registers,
    }),
    moduleInfo,
    setModuleMode(slot, mode) {
      for (const other of MODULE_MODES) {
        if (other !== mode) moduleInfo.remove({ ...slot, mode: other });
      }
      moduleInfo.set({ ...slot, mode }, 1);
    },
    forgetModule(slot) {
      for (const gauge of Object.values(perSlot)) gauge.remove({ ...slot });
      for (const mode of MODULE_MODES) moduleInfo.remove({ ...slot, mode });
    },
    forgetDeadLetters(module) {
      for (const status of DEAD_LETTER_METRIC_STATUSES) deadLetters.remove({ module, status });
    },
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  return metrics;
}
