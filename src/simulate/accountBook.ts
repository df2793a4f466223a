import type { Document } from 'mongodb';

/**
 * The simulator's model of the accounts it writes to: balance (cents), frozen or not, the last
 * version of the account's stream it has folded, and when its recent debits happened. The
 * planner reads it to pick valid commands; it is folded from the simulator's own appends and
 * from the account's stream tail in event_store (reactions and other writers append too).
 *
 * Contract: `fold` applies only the next version of a stream (knownVersion + 1). Anything else
 * is ignored, and the caller reads the tail from event_store to catch up, so the model never
 * counts an event twice and never skips one.
 */
export interface AccountView {
  readonly id: string;
  readonly balanceCents: number;
  readonly frozen: boolean;
  readonly knownVersion: number;
  readonly customerIps: readonly string[];
  /** Debits folded with an event time at or after `sinceMs`. */
  debitsSince(sinceMs: number): number;
}

/** The parts of a stored event the model folds. */
export interface FoldableEvent {
  version: number;
  eventType: string;
  eventTimestamp?: Date | undefined;
  eventData?: Document | undefined;
}

export interface AccountBook {
  /** Registers an account (idempotent); it starts at version 0 with no money. */
  add(id: string, customerIps: readonly string[]): AccountView;
  get(id: string): AccountView | undefined;
  /** Every account, in the order they were added (deterministic for a seed). */
  all(): readonly AccountView[];
  /** The frozen accounts, in the order they were frozen (kept as they freeze: no scan). */
  frozen(): readonly AccountView[];
  /** Folds the account's next event; false when it is not the next version (see contract). */
  fold(id: string, event: FoldableEvent): boolean;
}

/** Debit times kept per account: enough to tell a velocity burst from ordinary traffic. */
const KEPT_DEBIT_TIMES = 64;

interface AccountRecord extends AccountView {
  balanceCents: number;
  frozen: boolean;
  knownVersion: number;
  debitTimes: number[];
}

/** Currency units from an event field in cents; anything not a finite number counts as 0. */
export function centsOf(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.round(value * 100) : 0;
}

export function createAccountBook(): AccountBook {
  const byId = new Map<string, AccountRecord>();
  const ordered: AccountRecord[] = [];
  const frozen: AccountRecord[] = [];

  function foldInto(acc: AccountRecord, event: FoldableEvent): void {
    const data = event.eventData ?? {};
    switch (event.eventType) {
      case 'AccountCreated':
        acc.balanceCents += centsOf(data.initialBalance);
        break;
      case 'FundsDebited': {
        acc.balanceCents -= centsOf(data.amount) + centsOf(data.feeAmount);
        const at = event.eventTimestamp?.getTime() ?? 0;
        acc.debitTimes.push(at);
        if (acc.debitTimes.length > KEPT_DEBIT_TIMES) acc.debitTimes.shift();
        break;
      }
      case 'FundsCredited':
        acc.balanceCents += centsOf(data.amount);
        break;
      case 'DebitReversed':
        acc.balanceCents += centsOf(data.amount) + centsOf(data.feeAmount);
        break;
      case 'AccountFrozen':
        if (!acc.frozen) frozen.push(acc);
        acc.frozen = true;
        break;
      default:
        // Compliance and fraud events do not change what the command side may do.
        break;
    }
  }

  return {
    add(id, customerIps) {
      const existing = byId.get(id);
      if (existing) return existing;
      const debitTimes: number[] = [];
      const acc: AccountRecord = {
        id,
        balanceCents: 0,
        frozen: false,
        knownVersion: 0,
        customerIps: [...customerIps],
        debitTimes,
        // Times arrive in (nearly) time order: count back from the newest and stop at the
        // first older one. The cap it feeds shapes the workload; it guards no invariant.
        debitsSince(sinceMs) {
          let n = 0;
          for (let i = debitTimes.length - 1; i >= 0 && (debitTimes[i] ?? 0) >= sinceMs; i--) n++;
          return n;
        },
      };
      byId.set(id, acc);
      ordered.push(acc);
      return acc;
    },
    get: (id) => byId.get(id),
    all: () => ordered,
    frozen: () => frozen,
    fold(id, event) {
      const acc = byId.get(id);
      if (!acc || event.version !== acc.knownVersion + 1) return false;
      foldInto(acc, event);
      acc.knownVersion = event.version;
      return true;
    },
  };
}
