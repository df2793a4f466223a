import type { AccountBook } from './accountBook.js';
import { structuring, velocity } from './bursts.js';
import { freezeAccount, openAccount } from './catalog.js';
import type { Command, Scenario } from './commands.js';
import type { Random } from './random.js';
import { pickAccount, type PlanContext } from './selection.js';
import { foreign, large, oneStep, toFrozen, toUnknown, twoStep } from './transfers.js';

/**
 * Decides what the simulated bank does next. First it opens the requested accounts; then each
 * command is drawn from the scenario mix, and a scenario that does not fit the model (no
 * frozen account to pay, nobody rich enough for a large payment) falls back to an everyday
 * transfer, and that to opening a new account — which always fits. So the bank grows when its
 * accounts run dry or reach their daily debit cap.
 *
 * Deterministic: the commands depend only on the generator, the model and the budget.
 */
export type ScenarioMix = Readonly<Record<Scenario, number>>;

/** Relative weights per command (bursts write 3-25 debits per draw). */
export const DEFAULT_MIX: ScenarioMix = {
  'open-account': 1,
  'one-step': 40,
  'two-step': 20,
  'to-unknown': 3,
  'to-frozen': 3,
  large: 5,
  foreign: 6,
  structuring: 1,
  velocity: 0.15,
  freeze: 0.5,
};

/** Freezes stop once this share of accounts is frozen, so the bank keeps enough payers. */
const MAX_FROZEN_SHARE = 0.2;

export interface PlannerOptions {
  rng: Random;
  book: AccountBook;
  /** Accounts opened before any other traffic. */
  initialAccounts: number;
  /** Account ids are `<prefix>-000001`, …; unknown destinations `<prefix>-missing-000001`. */
  accountPrefix: string;
  legacyShare: number;
  mix?: Partial<ScenarioMix>;
}

export interface Planner {
  /** The next command; it writes at most `budget` events (budget >= 1). */
  next(budget: number, nowMs: number): Command;
}

const pad = (n: number) => String(n).padStart(6, '0');

export function createPlanner(opts: PlannerOptions): Planner {
  const { rng, book } = opts;
  const mix: ScenarioMix = { ...DEFAULT_MIX, ...opts.mix };
  const pending: Command[] = [];
  let opened = 0;
  let missing = 0;

  const open = (): Command => {
    opened += 1;
    return openAccount(rng, `${opts.accountPrefix}-${pad(opened)}`);
  };

  const freeze = (ctx: PlanContext): Command | null => {
    const all = book.all().length;
    const frozen = book.frozen().length;
    if (all - frozen <= 2 || frozen + 1 > all * MAX_FROZEN_SHARE) return null;
    const acc = pickAccount(ctx, (a) => !a.frozen);
    return acc ? freezeAccount(ctx.rng, acc) : null;
  };

  const builders: Record<Scenario, (ctx: PlanContext) => Command | Command[] | null> = {
    'open-account': open,
    'one-step': oneStep,
    'two-step': twoStep,
    'to-unknown': toUnknown,
    'to-frozen': toFrozen,
    large,
    foreign,
    structuring,
    velocity,
    freeze,
  };

  return {
    next(budget, nowMs) {
      if (budget < 1) throw new RangeError(`budget must be at least 1, got ${budget}`);
      const queued = pending.shift();
      if (queued) return queued;
      if (opened < opts.initialAccounts) return open();
      const ctx: PlanContext = {
        rng,
        book,
        nowMs,
        budget,
        legacyShare: opts.legacyShare,
        unknownAccountId: () => `${opts.accountPrefix}-missing-${pad((missing += 1))}`,
      };
      const planned = builders[rng.weighted(mix)](ctx) ?? oneStep(ctx) ?? open();
      const [first, ...rest] = Array.isArray(planned) ? planned : [planned];
      if (!first) return open();
      pending.push(...rest);
      return first;
    },
  };
}
