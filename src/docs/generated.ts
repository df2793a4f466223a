import { configReference } from '../config/reference.js';
import { metricsReference } from '../observability/metricsReference.js';

/**
 * The reference docs generated from code, with where each lives in the repository:
 * scripts/gen-config-docs.ts writes them, a unit test fails while one is stale.
 */
export interface GeneratedDoc {
  path: string;
  render(): string;
}

function metricsDoc(): string {
  return [
    '# Metrics reference',
    '',
    '<!-- Generated from src/observability/metrics.ts by `npx tsx scripts/gen-config-docs.ts`; do not edit. -->',
    '',
    'Served by `projectord run` at `GET /metrics` (Prometheus text format) on',
    '`metrics.host:metrics.port` (default `0.0.0.0:9464`). Names are a contract with dashboards',
    'and alerts; `config/grafana-dashboard.json` is a dashboard built on them.',
    '',
    metricsReference(),
  ].join('\n');
}

export const GENERATED_DOCS: readonly GeneratedDoc[] = [
  { path: 'docs/CONFIGURATION.md', render: configReference },
  { path: 'docs/METRICS.md', render: metricsDoc },
];
