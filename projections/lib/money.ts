import type { EventData, ProjectorEvent } from '../../src/events/types.js';
import { amountField, dataOf } from './validate.js';

/**
 * How each bank event moves an account's balance (DOMAIN.md): a debit lowers it by
 * amount + feeAmount, a credit raises it by amount (a credit's fee is not charged to the
 * receiver), a DebitReversed gives back amount + feeAmount. Every module computes balances
 * through `movementOf`, in event order, so they all arrive at the same floating-point numbers.
 */
export const MONEY_EVENTS = ['FundsDebited', 'FundsCredited', 'DebitReversed'] as const;
export type MoneyEventType = (typeof MONEY_EVENTS)[number];

/** The account event types of the bank domain that change the account's own state. */
export const ACCOUNT_EVENTS = ['AccountCreated', 'AccountFrozen', ...MONEY_EVENTS] as const;
export type AccountEventType = (typeof ACCOUNT_EVENTS)[number];

export type MovementKind = 'debit' | 'credit' | 'reversal';

export interface Movement {
  kind: MovementKind;
  /** eventData.amount, validated. */
  amount: number;
  /** eventData.feeAmount (0 when absent), validated. */
  fee: number;
  /** The signed change of the balance. */
  delta: number;
}

const KIND: Record<MoneyEventType, MovementKind> = {
  FundsDebited: 'debit',
  FundsCredited: 'credit',
  DebitReversed: 'reversal',
};

export function isMoneyEvent(
  event: ProjectorEvent<EventData, string>,
): event is ProjectorEvent<EventData, MoneyEventType> {
  return Object.hasOwn(KIND, event.eventType);
}

export function movementOf(event: ProjectorEvent<EventData, MoneyEventType>): Movement {
  const data = dataOf(event);
  const amount = amountField(data, 'amount');
  const fee = amountField(data, 'feeAmount', 0);
  const kind = KIND[event.eventType];
  const delta = kind === 'debit' ? -(amount + fee) : kind === 'credit' ? amount : amount + fee;
  return { kind, amount, fee, delta };
}

/** The balance an AccountCreated opens the account with (eventData.initialBalance, default 0). */
export function initialBalanceOf(event: ProjectorEvent): number {
  return amountField(dataOf(event), 'initialBalance', 0);
}
