import type { EventData, ProjectorEvent } from '../src/events/types.js';
import { defineProjection, type GuardedUpdate } from '../src/modules/types.js';
import { ACCOUNT_EVENTS, isMoneyEvent, movementOf } from './lib/money.js';
import { accountFreeze, accountOpened } from './lib/account.js';
import { eventTime } from './lib/validate.js';

/**
 * `account-summary`: one document per account in `account_summary_view` (DOMAIN.md "Read
 * models"). Write-only: every event is one guarded upsert, so the balance moves by `$inc`
 * exactly once per event without reading the document first.
 */
export const ACCOUNT_SUMMARY_VIEW = 'account_summary_view';

function summaryUpdate(event: ProjectorEvent<EventData, string>): GuardedUpdate {
  if (isMoneyEvent(event)) {
    return {
      inc: { currentBalance: movementOf(event).delta },
      set: { lastTransactionAt: eventTime(event) },
    };
  }
  if (event.eventType === 'AccountCreated') {
    const { initialBalance, ...opened } = accountOpened(event);
    return {
      set: {
        ...opened,
        currentBalance: initialBalance,
        status: 'active',
        lastTransactionAt: null,
        frozenAt: null,
        frozenBy: null,
        frozenReason: null,
      },
    };
  }
  // AccountFrozen (the only other handled type); the domain has no unfreezing.
  return { set: { ...accountFreeze(event), status: 'frozen' } };
}

export default defineProjection({
  name: 'account-summary',
  version: 1,
  handles: ACCOUNT_EVENTS,
  collections: [ACCOUNT_SUMMARY_VIEW],
  verifyIgnore: ['lastUpdated'],
  apply(event, ctx) {
    const update = summaryUpdate(event);
    ctx.upsert(ACCOUNT_SUMMARY_VIEW, event.aggregateId, {
      ...update,
      set: { ...update.set, lastUpdated: ctx.now() },
    });
  },
});
