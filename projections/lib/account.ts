import type { ProjectorEvent } from '../../src/events/types.js';
import { initialBalanceOf, isMoneyEvent, movementOf } from './money.js';
import {
  dataOf,
  eventTime,
  optionalDateField,
  optionalIdField,
  optionalTextField,
  textField,
} from './validate.js';

/**
 * The account's own facts, read from AccountCreated and AccountFrozen, and the account state
 * they and the money events fold into. Pure: the projections decide where the results go.
 */
export interface AccountOpened {
  accountNumber: string;
  accountHolder: string;
  accountType: string;
  initialBalance: number;
  currency: string;
  createdAt: Date;
  createdBy: string | null;
}

export interface AccountFreeze {
  frozenAt: Date;
  frozenBy: string | null;
  frozenReason: string | null;
}

export const DEFAULT_CURRENCY = 'USD';

export function accountOpened(event: ProjectorEvent): AccountOpened {
  const data = dataOf(event);
  return {
    accountNumber: textField(data, 'accountNumber'),
    accountHolder: textField(data, 'accountHolder'),
    accountType: textField(data, 'accountType'),
    initialBalance: initialBalanceOf(event),
    currency: optionalTextField(data, 'currency') ?? DEFAULT_CURRENCY,
    createdAt: optionalDateField(data, 'createdAt', eventTime(event)),
    createdBy: optionalIdField(data, 'createdBy'),
  };
}

export function accountFreeze(event: ProjectorEvent): AccountFreeze {
  const data = dataOf(event);
  return {
    frozenAt: optionalDateField(data, 'frozenAt', eventTime(event)),
    frozenBy: optionalIdField(data, 'frozenBy'),
    frozenReason: optionalTextField(data, 'reason'),
  };
}

/** The account as the command side rebuilds it (what aggregate_snapshots stores). */
export interface AccountState {
  accountNumber: string | null;
  accountHolder: string | null;
  accountType: string | null;
  currency: string;
  balance: number;
  status: 'active' | 'frozen';
  createdAt: Date | null;
  createdBy: string | null;
  lastTransactionAt: Date | null;
  frozenAt: Date | null;
  frozenBy: string | null;
  frozenReason: string | null;
}

/** The state before any event: what a money event finds when no AccountCreated was seen. */
export function emptyAccount(): AccountState {
  return {
    accountNumber: null,
    accountHolder: null,
    accountType: null,
    currency: DEFAULT_CURRENCY,
    balance: 0,
    status: 'active',
    createdAt: null,
    createdBy: null,
    lastTransactionAt: null,
    frozenAt: null,
    frozenBy: null,
    frozenReason: null,
  };
}

/**
 * Folds one event into the account state, returning a new object. Event types that do not
 * change the account (compliance findings and reviews) return the state unchanged.
 */
export function reduceAccount(state: AccountState | null, event: ProjectorEvent): AccountState {
  const s = state ?? emptyAccount();
  if (isMoneyEvent(event)) {
    const m = movementOf(event);
    return { ...s, balance: s.balance + m.delta, lastTransactionAt: eventTime(event) };
  }
  switch (event.eventType) {
    case 'AccountCreated': {
      const { initialBalance, ...opened } = accountOpened(event);
      return { ...s, ...opened, balance: initialBalance, status: 'active' };
    }
    case 'AccountFrozen':
      return { ...s, ...accountFreeze(event), status: 'frozen' };
    default:
      return s;
  }
}
