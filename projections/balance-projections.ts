import { defineProjection } from '../src/modules/types.js';
import { initialBalanceOf, isMoneyEvent, MONEY_EVENTS, movementOf } from './lib/money.js';
import type { Movement } from './lib/money.js';
import { balanceStep, balanceUpdate, type RunningBalance } from './lib/runningBalance.js';
import { eventTime } from './lib/validate.js';

/**
 * `balance-projections`: one document per account and UTC day of the event time in
 * `balance_projections_view` (`_id` = `<aggregateId>:<YYYY-MM-DD>`). A day document belongs to
 * one account, so it is guarded by that account's version like any other.
 *
 * The opening balance of a day is the account's balance before the first movement of that day,
 * taken from a running balance per account in `balance_projections_accounts`. For every day:
 *   closingBalance = openingBalance − debitsTotal − feesTotal + creditsTotal
 * A DebitReversed counts as a credit of amount + feeAmount: feesTotal stays the fees charged
 * that day, and never goes negative when the reversal falls on a later day than the debit.
 * Days without movements have no document.
 */
export const BALANCE_PROJECTIONS_VIEW = 'balance_projections_view';
export const BALANCE_PROJECTIONS_ACCOUNTS = 'balance_projections_accounts';

/** The UTC calendar day of a time, as YYYY-MM-DD. */
export function utcDay(time: Date): string {
  return time.toISOString().slice(0, 10);
}

function totals(m: Movement): Record<string, number> {
  const debit = m.kind === 'debit';
  return {
    debitsTotal: debit ? m.amount : 0,
    creditsTotal: debit ? 0 : m.kind === 'credit' ? m.amount : m.amount + m.fee,
    feesTotal: debit ? m.fee : 0,
    debitCount: debit ? 1 : 0,
    creditCount: debit ? 0 : 1,
  };
}

export default defineProjection({
  name: 'balance-projections',
  version: 1,
  handles: ['AccountCreated', ...MONEY_EVENTS],
  collections: [BALANCE_PROJECTIONS_VIEW, BALANCE_PROJECTIONS_ACCOUNTS],
  verifyIgnore: [],
  async apply(event, ctx) {
    const id = event.aggregateId;
    // Validate before reading or writing anything: a bad event changes nothing.
    const m = isMoneyEvent(event) ? movementOf(event) : undefined;
    const day = m ? utcDay(eventTime(event)) : undefined;
    const delta = m ? m.delta : initialBalanceOf(event);
    const prior = await ctx.findOne<RunningBalance>(BALANCE_PROJECTIONS_ACCOUNTS, id);
    const step = balanceStep(prior, event.version, delta);
    if (!step) return;
    ctx.upsert(BALANCE_PROJECTIONS_ACCOUNTS, id, balanceUpdate(step));
    if (!m || day === undefined) return; // AccountCreated opens the balance, moves no day.
    ctx.upsert(BALANCE_PROJECTIONS_VIEW, `${id}:${day}`, {
      // Zero increments create every counter on the day's first movement.
      setOnInsert: { accountId: id, day, openingBalance: step.before },
      set: { closingBalance: step.after },
      inc: totals(m),
    });
  },
});
