import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { ModuleStatus } from '../../src/lifecycle/status.js';
import {
  createMetricsSampler,
  type DatabaseCounts,
} from '../../src/observability/daemonMetrics.js';
import {
  createMetrics,
  EVENT_OUTCOMES,
  METRICS,
  RESTART_REASONS,
} from '../../src/observability/metrics.js';
import { metricsReference } from '../../src/observability/metricsReference.js';

/** DESIGN.md "Metrics": every metric users depend on, by the name dashboards use. */
const DESIGN_METRICS: readonly [string, string][] = [
  ['projectord_events_applied_total', 'counter'],
  ['projectord_handler_duration_seconds', 'histogram'],
  ['projectord_lag_seconds', 'gauge'],
  ['projectord_checkpoint_age_seconds', 'gauge'],
  ['projectord_queue_depth', 'gauge'],
  ['projectord_aggregates_in_flight', 'gauge'],
  ['projectord_dead_letters', 'gauge'],
  ['projectord_change_stream_restarts_total', 'counter'],
  ['projectord_saga_instances', 'gauge'],
  ['projectord_compliance_reviews_overdue', 'gauge'],
  ['projectord_module_info', 'gauge'],
  ['projectord_module_healthy', 'gauge'],
];

describe('createMetrics', () => {
  it('exposes every DESIGN metric with its type in the Prometheus text', async () => {
    const text = await createMetrics().render();
    for (const [name, type] of DESIGN_METRICS) {
      expect(text, name).toContain(`# TYPE ${name} ${type}\n`);
    }
  });

  it('names every metric with the projectord_ prefix', () => {
    for (const m of Object.values(METRICS)) expect(m.name).toMatch(/^projectord_[a-z_]+$/);
  });

  it('records labelled values the engine reports', async () => {
    const m = createMetrics();
    const slot = { module: 'account-summary', partition: '0' };
    for (const outcome of EVENT_OUTCOMES) {
      m.eventsApplied.inc({ ...slot, event_type: 'FundsDebited', outcome });
    }
    m.eventsApplied.inc({ ...slot, event_type: 'FundsDebited', outcome: 'applied' });
    m.handlerDuration.observe({ module: 'account-summary' }, 0.003);
    m.lag.set(slot, 1.5);
    m.changeStreamRestarts.inc({ reason: 'history_lost' });
    m.sagaInstances.set({ saga: 'transfer-saga', state: 'Completed' }, 7);
    m.overdueComplianceReviews.set(2);
    const text = await m.render();
    expect(text).toContain(
      'projectord_events_applied_total{module="account-summary",partition="0",event_type="FundsDebited",outcome="applied"} 2',
    );
    expect(text).toContain(
      'projectord_events_applied_total{module="account-summary",partition="0",event_type="FundsDebited",outcome="dead_lettered"} 1',
    );
    expect(text).toContain('projectord_handler_duration_seconds_count{module="account-summary"} 1');
    expect(text).toContain(
      'projectord_handler_duration_seconds_bucket{le="0.005",module="account-summary"} 1',
    );
    expect(text).toContain('projectord_lag_seconds{module="account-summary",partition="0"} 1.5');
    expect(text).toContain('projectord_change_stream_restarts_total{reason="history_lost"} 1');
    expect(text).toContain('projectord_saga_instances{saga="transfer-saga",state="Completed"} 7');
    expect(text).toContain('projectord_compliance_reviews_overdue 2');
  });

  it('keeps one mode series per module partition', async () => {
    const m = createMetrics();
    m.setModuleMode({ module: 'compliance', partition: '1' }, 'catching-up');
    m.setModuleMode({ module: 'compliance', partition: '0' }, 'catching-up');
    m.setModuleMode({ module: 'compliance', partition: '0' }, 'live');
    const text = await m.render();
    expect(text).toContain(
      'projectord_module_info{module="compliance",partition="0",mode="live"} 1',
    );
    expect(text).toContain(
      'projectord_module_info{module="compliance",partition="1",mode="catching-up"} 1',
    );
    expect(samples(text, 'mode="catching-up"')).toHaveLength(1);
  });

  it('uses a registry of its own: two instances never collide', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.queueDepth.set({ module: 'x', partition: '0' }, 5);
    expect(await b.render()).not.toContain('projectord_queue_depth{module="x"');
  });

  it('adds the default process metrics only when asked', async () => {
    expect(await createMetrics().render()).not.toContain('process_cpu_user_seconds_total');
    expect(await createMetrics({ defaultMetrics: true }).render()).toContain(
      'process_cpu_user_seconds_total',
    );
  });

  it('exports every change-stream restart reason at 0 before the first restart', async () => {
    const text = await createMetrics().render();
    for (const reason of RESTART_REASONS) {
      expect(text).toContain(`projectord_change_stream_restarts_total{reason="${reason}"} 0`);
    }
  });

  it('forgets every per-partition gauge of one slot and nothing else', async () => {
    const m = createMetrics();
    for (const [module, partition] of [
      ['gone', '1'],
      ['gone', '0'],
      ['kept', '0'],
    ] as const) {
      const l = { module, partition };
      m.lag.set(l, 1);
      m.checkpointAge.set(l, 2);
      m.queueDepth.set(l, 3);
      m.aggregatesInFlight.set(l, 4);
      m.moduleHealthy.set(l, 1);
      m.setModuleMode(l, 'live');
      m.eventsApplied.inc({ ...l, event_type: 'FundsDebited', outcome: 'applied' });
    }
    for (const module of ['gone', 'kept']) {
      m.deadLetters.set({ module, status: 'parked' }, 5);
      m.deadLetters.set({ module, status: 'invalid' }, 1);
    }
    m.forgetModule({ module: 'gone', partition: '1' });
    const text = await m.render();
    expect(samples(text, 'module="gone",partition="1"')).toEqual([
      'projectord_events_applied_total{module="gone",partition="1",event_type="FundsDebited",outcome="applied"} 1',
    ]);
    expect(samples(text, 'module="gone",partition="0"')).toHaveLength(7);
    m.forgetDeadLetters('gone');
    const after = await m.render();
    expect(samples(after, 'projectord_dead_letters{module="gone"')).toEqual([]);
    expect(samples(after, 'module="kept"')).toHaveLength(9);
  });

  it('rejects a label the metric does not have', () => {
    const m = createMetrics();
    expect(() => m.lag.set({ modul: 'x' } as never, 1)).toThrow(/label/i);
  });
});

/** The sample lines (not HELP/TYPE) of `text` that contain `fragment`. */
function samples(text: string, fragment: string): string[] {
  return text.split('\n').filter((l) => !l.startsWith('#') && l.includes(fragment));
}

function moduleStatus(module: string, over: Partial<ModuleStatus> = {}): ModuleStatus {
  return {
    module,
    slot: module,
    partition: 0,
    partitions: 1,
    kind: module.endsWith('-saga') ? 'reaction' : 'projection',
    mode: 'live',
    pending: 0,
    inFlight: 0,
    activeKeys: 0,
    parkedKeys: 0,
    lastProgressAt: NOW.getTime(),
    lastEventAt: null,
    lastSavedAt: new Date(NOW.getTime() - 2000),
    oldestPendingAt: undefined,
    ...over,
  };
}

const NOW = new Date('2025-03-01T12:00:00Z');

function counts(over: Partial<DatabaseCounts> = {}): DatabaseCounts {
  return { deadLetters: new Map(), sagaStates: new Map(), ...over };
}

/** A sampler over a status list the test changes, as leases come and go. */
function sampled(initial: string[]) {
  const metrics = createMetrics();
  let owned = initial;
  const sampler = createMetricsSampler({
    metrics,
    config: loadConfig({ env: {} }),
    status: () => owned.map((m) => moduleStatus(m)),
    now: () => NOW,
  });
  return {
    metrics,
    sampler,
    own(modules: string[]) {
      owned = modules;
    },
  };
}

describe('createMetricsSampler', () => {
  it('exports the per-module gauges of the modules in status()', async () => {
    const s = sampled(['account-summary']);
    s.sampler.sampleModules();
    const text = await s.metrics.render();
    expect(text).toContain('projectord_queue_depth{module="account-summary",partition="0"} 0');
    expect(text).toContain('projectord_lag_seconds{module="account-summary",partition="0"} 0');
    expect(text).toContain(
      'projectord_checkpoint_age_seconds{module="account-summary",partition="0"} 2',
    );
    expect(text).toContain(
      'projectord_module_info{module="account-summary",partition="0",mode="live"} 1',
    );
    expect(text).toContain('projectord_module_healthy{module="account-summary",partition="0"} 1');
  });

  it('shows a live module holding parked aggregates as mode parked, still healthy', async () => {
    const metrics = createMetrics();
    const sampler = createMetricsSampler({
      metrics,
      config: loadConfig({ env: {} }),
      status: () => [moduleStatus('account-summary', { parkedKeys: 2 })],
      now: () => NOW,
    });
    sampler.sampleModules();
    const text = await metrics.render();
    expect(text).toContain(
      'projectord_module_info{module="account-summary",partition="0",mode="parked"} 1',
    );
    expect(samples(text, 'projectord_module_info{')).toHaveLength(1);
    expect(text).toContain('projectord_module_healthy{module="account-summary",partition="0"} 1');
  });

  it('removes the series of a module that left status() (lease lost)', async () => {
    const s = sampled(['account-summary', 'transfer-saga', 'compliance-review-saga']);
    s.sampler.sampleModules();
    s.sampler.applyDatabaseCounts(
      counts({
        deadLetters: new Map([['transfer-saga', new Map([['parked', 2]])]]),
        sagaStates: new Map([['transfer-saga', new Map([['Completed', 3]])]]),
        overdueReviews: 4,
      }),
    );
    const before = await s.metrics.render();
    // 6 slot gauges (mode included), 5 dead-letter statuses, 3 stall actions.
    expect(samples(before, 'module="transfer-saga"')).toHaveLength(14);
    expect(before).toContain('projectord_saga_instances{saga="transfer-saga",state="Completed"} 3');
    expect(before).toContain('projectord_compliance_reviews_overdue 4');

    s.own(['account-summary']);
    s.sampler.sampleModules();
    const after = await s.metrics.render();
    // Counters stay (cumulative): only the stall counter's series remain.
    const stalls = (module: string) =>
      ['reopened', 'rescanned', 'client-replaced'].map(
        (action) =>
          `projectord_stream_stalls_total{module="${module}",partition="0",action="${action}"} 0`,
      );
    expect(samples(after, 'module="transfer-saga"')).toEqual(stalls('transfer-saga'));
    expect(samples(after, 'module="compliance-review-saga"')).toEqual(
      stalls('compliance-review-saga'),
    );
    expect(samples(after, 'saga="transfer-saga"')).toEqual([]);
    // Label-less, so it cannot be removed: the new owner reports the count, this instance 0.
    expect(after).toContain('projectord_compliance_reviews_overdue 0');
    expect(samples(after, 'module="account-summary"')).toHaveLength(14);
  });

  it('exports dead letters only for the modules running here, 0 when there are none', async () => {
    const s = sampled(['account-summary', 'compliance']);
    s.sampler.applyDatabaseCounts(
      counts({
        deadLetters: new Map([
          [
            'account-summary',
            new Map([
              ['parked', 2],
              ['invalid', 1],
            ]),
          ],
          ['transaction-history', new Map([['parked', 5]])],
        ]),
      }),
    );
    const text = await s.metrics.render();
    const zero = (module: string, statuses: string[]) =>
      statuses.map((status) => `projectord_dead_letters{module="${module}",status="${status}"} 0`);
    expect(samples(text, 'projectord_dead_letters')).toEqual([
      'projectord_dead_letters{module="account-summary",status="parked"} 2',
      'projectord_dead_letters{module="account-summary",status="invalid"} 1',
      ...zero('account-summary', ['waiting', 'retry-requested', 'skip-requested']),
      ...zero('compliance', ['parked', 'invalid', 'waiting', 'retry-requested', 'skip-requested']),
    ]);
  });

  it('shows a module with invalid dead letters as parked, still healthy, like parked ones', async () => {
    const s = sampled(['account-summary']);
    s.sampler.sampleModules();
    const mode = (m: string) =>
      `projectord_module_info{module="account-summary",partition="0",mode="${m}"} 1`;
    expect(await s.metrics.render()).toContain(mode('live'));
    s.sampler.applyDatabaseCounts(
      counts({ deadLetters: new Map([['account-summary', new Map([['invalid', 1]])]]) }),
    );
    s.sampler.sampleModules();
    const text = await s.metrics.render();
    expect(text).toContain(mode('parked'));
    expect(text).toContain('projectord_module_healthy{module="account-summary",partition="0"} 1');
  });

  it('drops a saga state whose count fell to nothing, keeping the others', async () => {
    const s = sampled(['transfer-saga']);
    const states = (entries: [string, number][]) =>
      counts({ sagaStates: new Map([['transfer-saga', new Map(entries)]]) });
    s.sampler.applyDatabaseCounts(
      states([
        ['DebitCompleted', 1],
        ['Completed', 3],
      ]),
    );
    s.sampler.applyDatabaseCounts(states([['Completed', 4]]));
    const text = await s.metrics.render();
    expect(samples(text, 'projectord_saga_instances')).toEqual([
      'projectord_saga_instances{saga="transfer-saga",state="Completed"} 4',
    ]);
  });

  it('ignores counts of a saga handed over while they were read', async () => {
    const s = sampled(['account-summary']);
    s.sampler.applyDatabaseCounts(
      counts({
        sagaStates: new Map([['transfer-saga', new Map([['Completed', 3]])]]),
        overdueReviews: 2,
      }),
    );
    const text = await s.metrics.render();
    expect(samples(text, 'projectord_saga_instances')).toEqual([]);
    expect(text).toContain('projectord_compliance_reviews_overdue 0');
  });
});

describe('metricsReference', () => {
  it('lists every metric with its type, labels and help', () => {
    const md = metricsReference();
    for (const m of Object.values(METRICS)) {
      const line = md.split('\n').find((l) => l.startsWith(`| \`${m.name}\` |`));
      expect(line, m.name).toBeDefined();
      expect(line).toContain(`| ${m.type} |`);
      for (const label of m.labels) expect(line).toContain(`\`${label}\``);
    }
    expect(md).toContain('| `projectord_compliance_reviews_overdue` | gauge | — |');
  });
});

describe('config/grafana-dashboard.json', () => {
  it('only queries metrics that exist', () => {
    const text = readFileSync(
      new URL('../../config/grafana-dashboard.json', import.meta.url),
      'utf8',
    );
    const dashboard = JSON.parse(text) as { panels: { targets?: { expr: string }[] }[] };
    const known = new Set(Object.values(METRICS).map((m) => m.name as string));
    const used = new Set(
      dashboard.panels
        .flatMap((p) => p.targets ?? [])
        .flatMap((t) => t.expr.match(/projectord_[a-z_]+/g) ?? [])
        .map((n) => n.replace(/_(bucket|count|sum)$/, '')),
    );
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect(known, name).toContain(name);
  });
});
