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

/** Random draws before falling back to scanning every account. */
const SAMPLES = 8;

/** A random account matching `accept`, or undefined when none does. */
export function pickAccount(
  ctx: PlanContext,
  accept: (acc: AccountView) => boolean,
): AccountView | undefined {
  const all = ctx.book.all();
  if (all.length === 0) return undefined;
  for (let i = 0; i < SAMPLES; i++) {
    const acc = ctx.rng.pick(all);
    if (accept(acc)) return acc;
  }
  const matching = all.filter(accept);
  return matching.length > 0 ? ctx.rng.pick(matching) : undefined;
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
