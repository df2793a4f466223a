import { BSON } from 'mongodb';
import { showValue } from './diff.js';
import type { ModuleVerdict } from './verify.js';

/**
 * How verify reports to a person: the first differences of a module, one per line, then one
 * summary line per module. Plain text, stable wording (operators grep it). The summary names
 * the events left out as dead-lettered for the module (verify.ts NOT_APPLIED) when there are any.
 */
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function formatDifferences(v: ModuleVerdict): string[] {
  if (v.status !== 'differ') return [];
  return v.collections.flatMap((c) =>
    c.shown.map(
      (d) =>
        `  ${v.module}  ${d.collection}  _id=${showValue(d.id)}  ${d.field}: ` +
        `stored ${showValue(d.stored)}, expected ${showValue(d.expected)}`,
    ),
  );
}

export function formatSummary(v: ModuleVerdict): string {
  if (v.status === 'failed') {
    return `${v.module}: could not recompute from event_store: ${v.error.message}`;
  }
  const documents = v.collections.reduce((n, c) => n + c.expectedDocuments, 0);
  const skipped = v.run.invalid > 0 ? `, ${plural(v.run.invalid, 'invalid event')} skipped` : '';
  const excluded = v.run.excluded ?? 0;
  const deadLettered = excluded > 0 ? `, ${plural(excluded, 'dead-lettered event')} excluded` : '';
  const checked =
    `${plural(v.collections.length, 'collection')}, ${plural(documents, 'document')}, ` +
    `${plural(v.run.handled, 'event')} re-run${skipped}${deadLettered}`;
  if (v.status === 'match') return `${v.module}: matches event_store (${checked})`;
  const differing = v.collections.reduce((n, c) => n + c.differing, 0);
  const where = v.collections
    .filter((c) => c.differing > 0)
    .map((c) => `${c.collection}: ${c.differing}`)
    .join(', ');
  const shown = v.collections.reduce((n, c) => n + c.shown.length, 0);
  const more = shown === 0 ? '' : `; first ${plural(shown, 'difference')} above`;
  return `${v.module}: DIFFERS — ${plural(differing, 'document')} (${where}) of ${checked}${more}`;
}

/**
 * `verify --json`: every module's verdict in one document for scripts. Values are Extended JSON
 * (relaxed), so an ObjectId or a Date in a difference keeps its type.
 */
export function verifyReportJson(
  db: string,
  verdicts: readonly ModuleVerdict[],
  grown: number,
): string {
  const modules = verdicts.map((v) =>
    v.status === 'failed'
      ? { module: v.module, status: v.status, error: v.error.message }
      : { module: v.module, status: v.status, run: v.run, collections: v.collections },
  );
  const ok = verdicts.every((v) => v.status === 'match');
  return BSON.EJSON.stringify(
    { db, ok, eventsAppendedMeanwhile: grown, modules },
    { relaxed: true },
  );
}
