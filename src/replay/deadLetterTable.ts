import type { DeadLetter } from '../lanes/deadLetters.js';

/**
 * `dlq list` output: an aligned table for people (the error cut to fit a line, with the field
 * the problem is in), or JSON for scripts (the entries as stored, minus the raw event).
 */
const cut = (text: string, max: number) =>
  text.length > max ? `${text.slice(0, max - 1)}…` : text;
const text = (v: unknown): string => {
  if (v === undefined || v === null) return '-';
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? '-');
};

export function errorText(d: DeadLetter): string {
  const message = d.error.message.replace(/\s+/g, ' ');
  return d.error.field ? `${d.error.field}: ${message}` : message;
}

const COLUMNS: readonly [string, (d: DeadLetter) => string][] = [
  ['ID', (d) => d._id],
  ['MODULE', (d) => d.module],
  ['KEY', (d) => text(d.key || '-')],
  ['EVENT TYPE', (d) => text(d.eventType)],
  ['VERSION', (d) => text(d.version)],
  ['ATTEMPTS', (d) => String(d.attempts)],
  ['STATUS', (d) => d.status],
  ['ERROR', (d) => cut(errorText(d), 80)],
];

export function renderDeadLetterTable(entries: readonly DeadLetter[]): string {
  if (entries.length === 0) return 'No dead letters match.\n';
  const rows = [
    COLUMNS.map(([title]) => title),
    ...entries.map((d) => COLUMNS.map(([, cell]) => cell(d))),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  return `${lines.join('\n')}\n`;
}

export function renderDeadLetterJson(entries: readonly DeadLetter[]): string {
  const plain = entries.map(({ event: _event, ...rest }) => rest);
  return `${JSON.stringify(plain, null, 2)}\n`;
}
