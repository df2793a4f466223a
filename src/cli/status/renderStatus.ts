import type { ModuleStatus, StatusReport } from './collectStatus.js';

/**
 * Text forms of a status report: an aligned table for people, JSON for scripts. The JSON is the
 * report as is (dates as ISO strings, seconds as numbers, unknown as null) and is a contract.
 */

/** Short human durations: 3.2s, 42s, 5m 03s, 2h 05m, 3d 04h. */
export function formatSeconds(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  const s = Math.round(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d ${pad(Math.floor((s % 86_400) / 3600))}h`;
}

const time = (d: Date | null) =>
  d === null
    ? '-'
    : d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z');
const secs = (s: number | null) => (s === null ? '-' : formatSeconds(s));

/** " 1,234 of ~20,000" while a catch-up has saved progress. */
function catchUpText(m: ModuleStatus): string {
  if (!m.catchUp) return '';
  const n = (v: number) => v.toLocaleString('en-US');
  return ` ${n(m.catchUp.scanned)} of ~${n(Math.max(m.catchUp.estimate, m.catchUp.scanned))}`;
}

const COLUMNS: readonly [string, (m: ModuleStatus) => string][] = [
  ['MODULE', (m) => m.module],
  ['OWNER', (m) => m.owner ?? '-'],
  ['MODE', (m) => (m.mode ?? '-') + catchUpText(m)],
  ['LAST EVENT', (m) => time(m.lastEventAt)],
  ['LAG', (m) => secs(m.lagSeconds)],
  ['APPLIED', (m) => String(m.eventsApplied)],
  [
    'DEAD LETTERS',
    (m) => (m.invalid > 0 ? `${m.deadLetters} (${m.invalid} invalid)` : String(m.deadLetters)),
  ],
  ['CHECKPOINT AGE', (m) => secs(m.checkpointAgeSeconds)],
  ['HEALTH', (m) => (m.health.ok ? 'ok' : (m.health.reason ?? 'not ok'))],
];

export function renderStatusTable(report: StatusReport): string {
  if (report.modules.length === 0) {
    return (
      `No module has run against database "${report.db}" yet: projector_checkpoints, ` +
      `projector_leases and projector_dead_letters are empty. Start \`projectord run\`, or check --db.\n`
    );
  }
  const rows = [
    COLUMNS.map(([title]) => title),
    ...report.modules.map((m) => COLUMNS.map(([, cell]) => cell(m))),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  const newest = `newest event in event_store: ${time(report.newestEventAt)}`;
  return `${lines.join('\n')}\n\ndatabase ${report.db}, ${newest}, at ${time(report.generatedAt)}\n`;
}

export function renderStatusJson(report: StatusReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
