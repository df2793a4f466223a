import type { Db, Document } from 'mongodb';
import { idText } from '../../projections/lib/reactionChecks.js';
import { EVENT_STORE } from '../../src/events/eventStore.js';
import {
  EVENT_COUNTER_TOTALS,
  EVENT_COUNTER_TOTALS_ID,
  EVENT_COUNTER_TYPES,
  EVENT_COUNTER_VIEW,
  isPoison,
} from '../../src/modules/testing/eventCounter.js';

/**
 * The event-counter's expected state, recomputed from event_store, and its difference from the
 * stored read model. Per aggregate, events apply in version order until the first poison event:
 * that one is dead-lettered and parks the aggregate (DESIGN.md invariant 6), so nothing after it
 * counts. A count above the expected one is a double effect, below it a lost event.
 */
export interface ExpectedAggregate {
  count: number;
  lastEventId: string;
}

export interface ExpectedCounter {
  aggregates: Map<string, ExpectedAggregate>;
  total: number;
  /** Aggregates parked behind a poison event, with its eventId. */
  parked: Map<string, string>;
}

export interface CounterDifference {
  kind: 'lost' | 'double' | 'wrong-last-event' | 'unexpected' | 'total';
  aggregateId?: string;
  expected: unknown;
  actual: unknown;
}

const HANDLED: readonly string[] = EVENT_COUNTER_TYPES;

export async function expectedEventCounter(db: Db): Promise<ExpectedCounter> {
  // No filter beyond the projection: on the fallback server any filter scans anyway.
  const docs = await db
    .collection(EVENT_STORE)
    .find(
      {},
      { projection: { aggregateId: 1, version: 1, eventType: 1, eventId: 1, eventData: 1 } },
    )
    .toArray();
  const streams = new Map<string, Document[]>();
  for (const d of docs) {
    if (typeof d.eventType !== 'string' || !HANDLED.includes(d.eventType)) continue;
    const id = String(d.aggregateId);
    const list = streams.get(id) ?? [];
    list.push(d);
    streams.set(id, list);
  }
  const out: ExpectedCounter = { aggregates: new Map(), total: 0, parked: new Map() };
  for (const [aggregateId, events] of streams) {
    events.sort((a, b) => Number(a.version) - Number(b.version));
    let count = 0;
    let lastEventId = '';
    for (const e of events) {
      const data = (e.eventData ?? {}) as Record<string, unknown>;
      if (isPoison(String(e.eventType), data)) {
        out.parked.set(aggregateId, idText(e.eventId));
        break;
      }
      count += 1;
      lastEventId = idText(e.eventId);
    }
    if (count > 0) out.aggregates.set(aggregateId, { count, lastEventId });
    out.total += count;
  }
  return out;
}

/** The stored total (`events` of the totals document), 0 when none yet. */
export async function storedCounterTotal(db: Db): Promise<number> {
  const doc = await db
    .collection<{ _id: string; events?: unknown }>(EVENT_COUNTER_TOTALS)
    .findOne({ _id: EVENT_COUNTER_TOTALS_ID });
  return typeof doc?.events === 'number' ? doc.events : 0;
}

/** Every difference between the recomputation and the stored read model; empty = equal. */
export async function diffEventCounter(db: Db): Promise<CounterDifference[]> {
  const expected = await expectedEventCounter(db);
  const stored = await db
    .collection<{ _id: string; count?: unknown; lastEventId?: unknown }>(EVENT_COUNTER_VIEW)
    .find({})
    .toArray();
  const diffs: CounterDifference[] = [];
  const seen = new Set<string>();
  for (const doc of stored) {
    const aggregateId = String(doc._id);
    seen.add(aggregateId);
    const want = expected.aggregates.get(aggregateId);
    const count = typeof doc.count === 'number' ? doc.count : 0;
    if (!want) {
      diffs.push({ kind: 'unexpected', aggregateId, expected: undefined, actual: count });
      continue;
    }
    if (count !== want.count) {
      const kind = count > want.count ? 'double' : 'lost';
      diffs.push({ kind, aggregateId, expected: want.count, actual: count });
    } else if (doc.lastEventId !== want.lastEventId) {
      diffs.push({
        kind: 'wrong-last-event',
        aggregateId,
        expected: want.lastEventId,
        actual: doc.lastEventId,
      });
    }
  }
  for (const [aggregateId, want] of expected.aggregates) {
    if (!seen.has(aggregateId))
      diffs.push({ kind: 'lost', aggregateId, expected: want.count, actual: 0 });
  }
  const total = await storedCounterTotal(db);
  if (total !== expected.total)
    diffs.push({ kind: 'total', expected: expected.total, actual: total });
  return diffs;
}

/** One line per difference (the first `limit`), for assertion and timeout messages. */
export function formatDifferences(diffs: readonly CounterDifference[], limit = 10): string {
  const lines = diffs
    .slice(0, limit)
    .map(
      (d) =>
        `${d.kind}${d.aggregateId === undefined ? '' : ` ${d.aggregateId}`}: expected ${String(d.expected)}, stored ${String(d.actual)}`,
    );
  if (diffs.length > limit) lines.push(`… and ${diffs.length - limit} more`);
  return lines.join('\n');
}

/**
 * Polls the difference until it is empty (the read model converged) or the deadline passes,
 * then throws with the differences left. `check` runs first on every poll (e.g. "the daemon is
 * still running") so a dead daemon fails at once instead of at the deadline.
 */
export async function waitForConvergence(
  db: Db,
  opts: { timeoutMs: number; check?: () => void; context?: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let diffs: CounterDifference[] = [];
  for (;;) {
    opts.check?.();
    diffs = await diffEventCounter(db);
    if (diffs.length === 0) return;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `event-counter did not converge within ${opts.timeoutMs} ms${opts.context ? ` (${opts.context})` : ''}; ` +
      `${diffs.length} differences:\n${formatDifferences(diffs)}`,
  );
}
