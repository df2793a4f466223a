import type { Db } from 'mongodb';
import type { Config } from '../config/schema.js';
import { DEAD_LETTERS, OPEN_STATUSES } from '../lanes/deadLetters.js';
import { toError } from '../lib/errors.js';
import type { DaemonHooks, ModuleStatus } from '../lifecycle/status.js';
import type { HealthReport } from './health.js';
import { evaluateModuleHealth } from './health.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * Connects the daemon to its metrics and health endpoint: hooks count outcomes as they happen;
 * a timer samples the per-module gauges; a slower one reads dead-letter and saga counts from
 * MongoDB (failures there only log: /metrics keeps answering while MongoDB is away).
 */
export const SAGA_COLLECTIONS: Readonly<Record<string, string>> = {
  'transfer-saga': 'transfer_saga_state',
  'compliance-review-saga': 'compliance_saga_state',
  'fraud-saga': 'fraud_detection_saga_state',
};

export function metricsHooks(metrics: Metrics): DaemonHooks {
  return {
    onOutcome(module, event, outcome, ms) {
      metrics.eventsApplied.inc({ module, event_type: event.eventType, outcome });
      metrics.handlerDuration.observe({ module }, ms / 1000);
    },
    onIgnored(eventType) {
      metrics.eventsApplied.inc({ module: '*', event_type: eventType, outcome: 'ignored' });
    },
    onRestart(reason) {
      metrics.changeStreamRestarts.inc({ reason });
    },
    onModeChange(module, mode) {
      metrics.setModuleMode(module, mode);
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
      });
      return { name: s.module, ready: h.ready, reason: h.reason };
    }),
  };
}

export function startMetricsSampler(o: {
  db: Db;
  metrics: Metrics;
  config: Config;
  status(): ModuleStatus[];
  logger: Logger;
  now?(): Date;
}): () => void {
  const now = o.now ?? (() => new Date());
  const { metrics } = o;
  const fast = setInterval(() => {
    const at = now();
    for (const s of o.status()) {
      const m = { module: s.module };
      metrics.queueDepth.set(m, s.pending);
      metrics.aggregatesInFlight.set(m, s.activeKeys);
      metrics.lag.set(m, (lagMs(s, at) ?? 0) / 1000);
      if (s.lastSavedAt)
        metrics.checkpointAge.set(m, (at.getTime() - s.lastSavedAt.getTime()) / 1000);
      metrics.setModuleMode(s.module, s.mode);
    }
    for (const h of healthReport(o.status(), o.config, at).modules) {
      metrics.moduleHealthy.set({ module: h.name }, h.ready ? 1 : 0);
    }
  }, 1000);
  const slow = setInterval(() => {
    void sampleDatabase().catch((e: unknown) =>
      o.logger.debug({ err: toError(e) }, 'metrics: could not read counts from MongoDB'),
    );
  }, 5000);
  fast.unref();
  slow.unref();

  async function sampleDatabase(): Promise<void> {
    const letters = await o.db
      .collection(DEAD_LETTERS)
      .aggregate<{ _id: string; n: number }>([
        { $match: { status: { $in: [...OPEN_STATUSES, 'invalid'] } } },
        { $group: { _id: '$module', n: { $sum: 1 } } },
      ])
      .toArray();
    for (const s of o.status()) metrics.deadLetters.set({ module: s.module }, 0);
    for (const l of letters) metrics.deadLetters.set({ module: l._id }, l.n);
    const running = new Set(o.status().map((s) => s.module));
    for (const [saga, collection] of Object.entries(SAGA_COLLECTIONS)) {
      if (!running.has(saga)) continue;
      const states = await o.db
        .collection(collection)
        .aggregate<{ _id: string; n: number }>([{ $group: { _id: '$state', n: { $sum: 1 } } }])
        .toArray();
      for (const st of states) metrics.sagaInstances.set({ saga, state: String(st._id) }, st.n);
    }
    if (running.has('compliance-review-saga')) {
      const overdue = await o.db
        .collection('compliance_saga_state')
        .countDocuments({ overdue: true, state: { $nin: ['Completed', 'TimedOut'] } });
      metrics.overdueComplianceReviews.set(overdue);
    }
  }

  return () => {
    clearInterval(fast);
    clearInterval(slow);
  };
}
