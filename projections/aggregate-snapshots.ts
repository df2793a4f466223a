import type { Document } from 'mongodb';
import { bankSettings } from '../src/config/bankSchema.js';
import { defineProjection } from '../src/modules/types.js';
import { reduceAccount, type AccountState } from './lib/account.js';
import { ACCOUNT_EVENTS } from './lib/money.js';

/**
 * `aggregate-snapshots`: for the command side's fast loads, one document per account in
 * `aggregate_snapshots` holding the account state at `version`, rewritten every N events
 * (N = bank.snapshotEveryEvents). The running state lives in `aggregate_snapshot_state`.
 *
 * A snapshot is due when an event's version reaches the next multiple of N after the last
 * snapshot: with every version seen that is exactly `version % N === 0`, and an account event
 * type this module does not handle cannot make it skip a snapshot for good.
 * The compliance event types are handled only so that their versions count.
 */
export const AGGREGATE_SNAPSHOTS = 'aggregate_snapshots';
export const AGGREGATE_SNAPSHOT_STATE = 'aggregate_snapshot_state';

interface StateDoc extends Document {
  account: AccountState;
  /** Version of the last snapshot written (0 = none yet). */
  snapshotVersion: number;
  version: number;
}

export default defineProjection({
  name: 'aggregate-snapshots',
  version: 1,
  handles: [
    ...ACCOUNT_EVENTS,
    'SuspiciousActivityDetected',
    'ComplianceReviewRequired',
    'ComplianceReviewCompleted',
  ],
  collections: [AGGREGATE_SNAPSHOTS, AGGREGATE_SNAPSHOT_STATE],
  verifyIgnore: ['snapshotTimestamp'],
  async apply(event, ctx) {
    const every = bankSettings(ctx.settings).snapshotEveryEvents;
    const prior = await ctx.findOne<StateDoc>(AGGREGATE_SNAPSHOT_STATE, event.aggregateId);
    const at = prior?.version ?? 0;
    if (at > event.version) return; // every write of this event is durable already
    let account: AccountState;
    let due: boolean;
    if (prior && at === event.version) {
      // A crash landed the state but maybe not the snapshot: write it again (guarded: once).
      account = prior.account;
      due = prior.snapshotVersion === event.version;
    } else {
      account = reduceAccount(prior?.account ?? null, event);
      const last = prior?.snapshotVersion ?? 0;
      due = Math.floor(event.version / every) > Math.floor(last / every);
    }
    const snapshotVersion = due ? event.version : (prior?.snapshotVersion ?? 0);
    ctx.upsert(AGGREGATE_SNAPSHOT_STATE, event.aggregateId, { set: { account, snapshotVersion } });
    if (!due) return;
    ctx.upsert(AGGREGATE_SNAPSHOTS, event.aggregateId, {
      set: {
        aggregateId: event.aggregateId,
        aggregateType: event.aggregateType,
        snapshotData: account,
        snapshotTimestamp: ctx.now(),
      },
    });
  },
});
