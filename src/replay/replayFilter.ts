import type { Document } from 'mongodb';
import { storedForms } from '../events/ids.js';
import { usageError } from '../lib/errors.js';

/**
 * The operator's selection for `projectord replay`, checked before anything connects. Every
 * given flag narrows the selection (they combine with AND): events with
 * `from ≤ eventTimestamp < to`, of the listed event types, aggregate types, aggregate ids.
 * Values are only ever compared with `$gte`/`$lt`/`$in`: never read as operators.
 */
export interface ReplayFlags {
  from?: string;
  to?: string;
  types?: string;
  aggregateTypes?: string;
  aggregates?: string;
}

export interface ReplayFilter {
  from?: Date;
  to?: Date;
  types?: string[];
  aggregateTypes?: string[];
  aggregates?: string[];
}

const ISO =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

export function parseDateFlag(value: string, flag: string): Date {
  const time = ISO.test(value.trim()) ? Date.parse(value.trim()) : NaN;
  if (Number.isNaN(time)) {
    throw usageError(
      'REPLAY_DATE_INVALID',
      `${flag} must be an ISO 8601 date or time, like 2025-03-01 or 2025-03-01T12:00:00Z ` +
        `(got "${value}").`,
    );
  }
  return new Date(time);
}

export function parseListFlag(value: string, flag: string): string[] {
  const items = [...new Set(value.split(',').map((s) => s.trim()))].filter((s) => s !== '');
  if (items.length === 0) {
    throw usageError(
      'REPLAY_LIST_EMPTY',
      `${flag} must list at least one value, separated by commas (got "${value}").`,
    );
  }
  return items;
}

export function parseReplayFilter(flags: ReplayFlags): ReplayFilter {
  const f: ReplayFilter = {};
  if (flags.from !== undefined) f.from = parseDateFlag(flags.from, '--from');
  if (flags.to !== undefined) f.to = parseDateFlag(flags.to, '--to');
  if (flags.types !== undefined) f.types = parseListFlag(flags.types, '--types');
  if (flags.aggregateTypes !== undefined) {
    f.aggregateTypes = parseListFlag(flags.aggregateTypes, '--aggregate-types');
  }
  if (flags.aggregates !== undefined)
    f.aggregates = parseListFlag(flags.aggregates, '--aggregates');
  if (Object.keys(f).length === 0) {
    throw usageError(
      'REPLAY_FILTER_EMPTY',
      'projectord replay needs a selection: at least one of --from, --to, --types, ' +
        '--aggregate-types, --aggregates. To re-run a whole module, use projectord rebuild <module>.',
    );
  }
  if (f.from && f.to && f.from.getTime() >= f.to.getTime()) {
    throw usageError(
      'REPLAY_RANGE_EMPTY',
      `--from (${f.from.toISOString()}) must be before --to (${f.to.toISOString()}): ` +
        'the range includes --from and excludes --to.',
    );
  }
  return f;
}

/** The event_store filter of the events that select aggregates (only types the module handles). */
export function selectionFilter(f: ReplayFilter, handles: readonly string[]): Document {
  const clauses: Document[] = [{ eventType: { $in: [...handles] } }];
  if (f.from) clauses.push({ eventTimestamp: { $gte: f.from } });
  if (f.to) clauses.push({ eventTimestamp: { $lt: f.to } });
  if (f.types) clauses.push({ eventType: { $in: f.types } });
  if (f.aggregateTypes) clauses.push({ aggregateType: { $in: f.aggregateTypes } });
  // An aggregate id as given matches its stream in either stored form (events/ids.ts).
  if (f.aggregates) clauses.push({ aggregateId: { $in: f.aggregates.flatMap(storedForms) } });
  return { $and: clauses };
}

export function describeFilter(f: ReplayFilter): string {
  const parts: string[] = [];
  if (f.from) parts.push(`from ${f.from.toISOString()}`);
  if (f.to) parts.push(`to ${f.to.toISOString()}`);
  if (f.types) parts.push(`types ${f.types.join(',')}`);
  if (f.aggregateTypes) parts.push(`aggregate types ${f.aggregateTypes.join(',')}`);
  if (f.aggregates) parts.push(`aggregates ${f.aggregates.join(',')}`);
  return parts.join(', ');
}
