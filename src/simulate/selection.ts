import type { AccountBook, AccountView } from './accountBook.js';
import { DAY_MS, VELOCITY_LIMIT } from './commands.js';
import type { Random } from './random.js';

/**
 * What a scenario builder may look at while planning one command, and the rules for choosing
 * accounts. Everything here reads the model only, so a seed fixes the choices.
 */
export interface PlanContext {
  readonly rng: Random;
  readonly book: AccountBook;
  /** Business time of the command (ms), for the 24-hour debit windows. */
  readonly nowMs: number;
  /** Events the command may still write (Infinity when the run has no count). */
  readonly budget: number;
  /** Share of USD debits written with the old "1.0" schema. */
  readonly legacyShare: number;
  /** A destination id that no account will ever have. */
  unknownAccountId(): string;
}

/**
 * Debits per account per 24 hours that ordinary traffic never exceeds, well below the velocity
 * rule (more than 20): only a deliberate velocity burst makes an account look suspicious.
 */
export const ORDINARY_DEBIT_CAP = VELOCITY_LIMIT - 4;

/**
 * Random draws per choice of an account. Bounded, never a scan of every account: the bank grows
 * as a run goes on (it opens accounts when the ones it has run dry), so a scan made each command
 * cost more the longer the run and a long `--count` took time quadratic in it. With a bound, a
 * command costs the same at the millionth event as at the first; when fitting accounts are so
 * rare that 64 draws miss them all, the scenario does not fit and the planner falls back.
 */
export const MAX_DRAWS = 64;

/** A random account matching `accept`, or undefined when none is drawn. */
export function pickAccount(
  ctx: PlanContext,
  accept: (acc: AccountView) => boolean,
): AccountView | undefined {
  const all = ctx.book.all();
  if (all.length === 0) return undefined;
  for (let i = 0; i < MAX_DRAWS; i++) {
    const acc = ctx.rng.pick(all);
    if (accept(acc)) return acc;
  }
  return undefined;
}

/** The account can pay `cents` in `debits` more debits without looking like a velocity case. */
export function canSend(ctx: PlanContext, acc: AccountView, cents: number, debits = 1): boolean {
  return (
    !acc.frozen &&
    acc.balanceCents >= cents &&
    acc.debitsSince(ctx.nowMs - DAY_MS) + debits <= ORDINARY_DEBIT_CAP
  );
}

/** An active account other than `from`, to receive a transfer. */
export function pickDestination(ctx: PlanContext, from: string): AccountView | undefined {
  return pickAccount(ctx, (acc) => !acc.frozen && acc.id !== from);
}
