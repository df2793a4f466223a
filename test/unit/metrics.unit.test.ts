import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics, EVENT_OUTCOMES, METRICS } from '../../src/observability/metrics.js';
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
    for (const outcome of EVENT_OUTCOMES) {
      m.eventsApplied.inc({ module: 'account-summary', event_type: 'FundsDebited', outcome });
    }
    m.eventsApplied.inc({
      module: 'account-summary',
      event_type: 'FundsDebited',
      outcome: 'applied',
    });
    m.handlerDuration.observe({ module: 'account-summary' }, 0.003);
    m.lag.set({ module: 'account-summary' }, 1.5);
    m.changeStreamRestarts.inc({ reason: 'history_lost' });
    m.sagaInstances.set({ saga: 'transfer-saga', state: 'Completed' }, 7);
    m.overdueComplianceReviews.set(2);
    const text = await m.render();
    expect(text).toContain(
      'projectord_events_applied_total{module="account-summary",event_type="FundsDebited",outcome="applied"} 2',
    );
    expect(text).toContain(
      'projectord_events_applied_total{module="account-summary",event_type="FundsDebited",outcome="dead_lettered"} 1',
    );
    expect(text).toContain('projectord_handler_duration_seconds_count{module="account-summary"} 1');
    expect(text).toContain(
      'projectord_handler_duration_seconds_bucket{le="0.005",module="account-summary"} 1',
    );
    expect(text).toContain('projectord_lag_seconds{module="account-summary"} 1.5');
    expect(text).toContain('projectord_change_stream_restarts_total{reason="history_lost"} 1');
    expect(text).toContain('projectord_saga_instances{saga="transfer-saga",state="Completed"} 7');
    expect(text).toContain('projectord_compliance_reviews_overdue 2');
  });

  it('keeps one mode series per module', async () => {
    const m = createMetrics();
    m.setModuleMode('compliance', 'catching-up');
    m.setModuleMode('compliance', 'live');
    const text = await m.render();
    expect(text).toContain('projectord_module_info{module="compliance",mode="live"} 1');
    expect(text).not.toContain('mode="catching-up"');
  });

  it('uses a registry of its own: two instances never collide', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.queueDepth.set({ module: 'x' }, 5);
    expect(await b.render()).not.toContain('projectord_queue_depth{module="x"}');
  });

  it('adds the default process metrics only when asked', async () => {
    expect(await createMetrics().render()).not.toContain('process_cpu_user_seconds_total');
    expect(await createMetrics({ defaultMetrics: true }).render()).toContain(
      'process_cpu_user_seconds_total',
    );
  });

  it('rejects a label the metric does not have', () => {
    const m = createMetrics();
    expect(() => m.lag.set({ modul: 'x' } as never, 1)).toThrow(/label/i);
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
