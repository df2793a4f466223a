import type { Document } from 'mongodb';

/**
 * Which read-model documents belong to an aggregate — the rule `projectord replay` relies on
 * to replace an aggregate's documents (module authors: key your documents so it holds).
 * A document belongs to aggregate A when
 *  - its `_id` is A (one document per aggregate: account_summary_view, running balances), or
 *  - its `_id` starts with `A:` (several per aggregate: balance_projections_view `A:<day>`), or
 *  - its `accountId` or `aggregateId` field is A (rows keyed by something else, e.g. eventId:
 *    transaction_history_view).
 * Documents shared by aggregates (counters with `applied.<aggregateId>` markers) belong to
 * none: replay leaves them as they are — their increments were applied once already — and
 * cannot repair them; rebuild the module for that.
 */
export function ownedBy(aggregateIds: readonly string[]): Document {
  const ids = [...aggregateIds];
  return {
    $or: [
      { _id: { $in: ids } },
      { accountId: { $in: ids } },
      { aggregateId: { $in: ids } },
      ...ids.map((id) => ({ _id: { $regex: `^${escapeRegex(id)}:` } })),
    ],
  };
}

export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|/-]/g, (c) => `\\${c}`);
}
