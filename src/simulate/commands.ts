/**
 * What the simulated command side decides to do, before anything is written. The planner makes
 * these from the seeded generator and its account model only (so a seed fixes the sequence);
 * the writer turns each one into events and appends them with optimistic concurrency.
 * Money is in integer cents here, so sums never drift; events carry currency units.
 */
export const SCENARIOS = [
  'open-account',
  'one-step',
  'two-step',
  'to-unknown',
  'to-frozen',
  'large',
  'foreign',
  'structuring',
  'velocity',
  'freeze',
] as const;
export type Scenario = (typeof SCENARIOS)[number];
export type TransferScenario = Exclude<Scenario, 'open-account' | 'freeze'>;

export const ACCOUNT_TYPES = ['checking', 'savings', 'business'] as const;
export type AccountType = (typeof ACCOUNT_TYPES)[number];
export type Currency = 'USD' | 'EUR' | 'GBP';

/** Where a command came from: copied into eventMetadata. */
export interface Channel {
  sourceIp: string;
  userAgent: string;
}

export interface OpenAccountCommand {
  kind: 'open-account';
  scenario: 'open-account';
  accountId: string;
  accountNumber: string;
  accountHolder: string;
  accountType: AccountType;
  initialBalanceCents: number;
  createdBy: string;
  channel: Channel;
  /** The customer's usual addresses, used as the source of their later payments. */
  customerIps: readonly string[];
}

export interface TransferCommand {
  kind: 'transfer';
  scenario: TransferScenario;
  from: string;
  to: string;
  amountCents: number;
  feeCents: number;
  currency: Currency;
  exchangeRate: number;
  /** Written as FundsDebited "1.0": no feeAmount, no exchangeRate (so feeCents is 0). */
  legacy: boolean;
  /** One-step: the command side writes the credit too; two-step: the transfer saga does. */
  withCredit: boolean;
  reference: string;
  description: string;
  initiatedBy: string;
  channel: Channel;
  /** Position in a structuring or velocity burst (1-based) and the burst's length. */
  burst?: { index: number; size: number };
}

export interface FreezeCommand {
  kind: 'freeze';
  scenario: 'freeze';
  accountId: string;
  reason: string;
  frozenBy: string;
  expectedDuration: string;
  complianceReference: string;
  channel: Channel;
}

export type Command = OpenAccountCommand | TransferCommand | FreezeCommand;

/** The most events a command can write (the budget a `--count` run checks before planning). */
export function maxEventsOf(cmd: Command): number {
  return cmd.kind === 'transfer' && cmd.withCredit ? 2 : 1;
}

/** Thresholds of DOMAIN.md the workload aims at (or deliberately stays clear of). */
export const LARGE_THRESHOLD_CENTS = 1_000_000;
/** Structuring: each debit between 90% and 100% of the large threshold. */
export const STRUCTURING_MIN_CENTS = 900_000;
/** Velocity: more than this many debits from one account in 24 hours is suspicious. */
export const VELOCITY_LIMIT = 20;
export const DAY_MS = 24 * 60 * 60 * 1000;
