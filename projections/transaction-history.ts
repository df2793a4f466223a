import type { EventData, ProjectorEvent } from '../src/events/types.js';
import { defineProjection } from '../src/modules/types.js';
import { DEFAULT_CURRENCY } from './lib/account.js';
import {
  initialBalanceOf,
  isMoneyEvent,
  MONEY_EVENTS,
  movementOf,
  type MoneyEventType,
  type Movement,
} from './lib/money.js';
import { balanceStep, balanceUpdate, type RunningBalance } from './lib/runningBalance.js';
import {
  dataOf,
  eventTime,
  idField,
  optionalIdField,
  optionalTextField,
  rateField,
  regulatoryFlagsOf,
  sourceIpOf,
} from './lib/validate.js';

/**
 * `transaction-history`: one row per debit, credit or reversal in `transaction_history_view`
 * (`_id` = eventId, written once). `balanceAfter` comes from a running balance per account in
 * `transaction_history_balances`, which also remembers the account's currency for reversals
 * (their payload has none).
 */
export const TRANSACTION_HISTORY_VIEW = 'transaction_history_view';
export const TRANSACTION_HISTORY_BALANCES = 'transaction_history_balances';

interface BalanceDoc extends RunningBalance {
  currency?: string | null;
}

/** Where each kind of movement keeps its descriptive fields (a reversal has fewer). */
const FIELDS: Record<
  MoneyEventType,
  { counterparty?: string; processedBy?: string; description: string }
> = {
  FundsDebited: {
    counterparty: 'toAccountId',
    processedBy: 'debitedBy',
    description: 'description',
  },
  FundsCredited: {
    counterparty: 'fromAccountId',
    processedBy: 'creditedBy',
    description: 'description',
  },
  DebitReversed: { description: 'reason' },
};

/** The row without `balanceAfter`; validates every field before anything is written. */
function rowOf(
  event: ProjectorEvent<EventData, MoneyEventType>,
  m: Movement,
  fallbackCurrency: string | null,
) {
  const data = dataOf(event);
  const f = FIELDS[event.eventType];
  const text = (key: string | undefined) => (key ? optionalTextField(data, key) : null);
  const id = (key: string | undefined) => (key ? optionalIdField(data, key) : null);
  return {
    _id: event.eventId,
    transactionId: idField(data, 'transferId'),
    accountId: event.aggregateId,
    eventId: event.eventId,
    transactionType: event.eventType,
    amount: m.amount,
    currency: optionalTextField(data, 'currency') ?? fallbackCurrency,
    counterpartyAccountId: id(f.counterparty),
    reference: optionalTextField(data, 'reference'),
    description: text(f.description),
    timestamp: eventTime(event),
    feeAmount: m.fee,
    exchangeRate: rateField(data, 'exchangeRate'),
    processedBy: id(f.processedBy),
    sourceIp: sourceIpOf(event),
    regulatoryFlags: regulatoryFlagsOf(event),
  };
}

export default defineProjection({
  name: 'transaction-history',
  version: 1,
  handles: ['AccountCreated', ...MONEY_EVENTS],
  collections: [TRANSACTION_HISTORY_VIEW, TRANSACTION_HISTORY_BALANCES],
  verifyIgnore: [],
  async apply(event, ctx) {
    const id = event.aggregateId;
    const prior = await ctx.findOne<BalanceDoc>(TRANSACTION_HISTORY_BALANCES, id);
    if (!isMoneyEvent(event)) {
      // AccountCreated: opens the running balance; it has no row of its own.
      const currency = optionalTextField(dataOf(event), 'currency') ?? DEFAULT_CURRENCY;
      const step = balanceStep(prior, event.version, initialBalanceOf(event));
      if (step) ctx.upsert(TRANSACTION_HISTORY_BALANCES, id, balanceUpdate(step, { currency }));
      return;
    }
    const m = movementOf(event);
    const row = rowOf(event, m, prior?.currency ?? null);
    const step = balanceStep(prior, event.version, m.delta);
    if (!step) return;
    ctx.upsert(TRANSACTION_HISTORY_BALANCES, id, balanceUpdate(step));
    ctx.insertOnce(TRANSACTION_HISTORY_VIEW, { ...row, balanceAfter: step.after });
  },
});
