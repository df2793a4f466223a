import { METRICS } from './metrics.js';

/**
 * The README's metrics reference, generated from the METRICS table so the docs cannot drift
 * from what `/metrics` serves. Pipes in help texts are escaped to keep the table intact.
 */
export function metricsReference(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = Object.values(METRICS).map((m) => {
    const labels = m.labels.length > 0 ? m.labels.map((l) => `\`${l}\``).join(', ') : '—';
    return `| \`${m.name}\` | ${m.type} | ${labels} | ${cell(m.help)} |`;
  });
  return [
    '| name | type | labels | help |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
    '`projectord run` also serves the standard Node.js process metrics of prom-client',
    '(`process_*`, `nodejs_*`) under their usual names.',
    '',
  ].join('\n');
}
