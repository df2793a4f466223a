import type { AccountView } from './accountBook.js';
import { customerChannel, description, everydayCents, reference } from './catalog.js';
import {
  LARGE_THRESHOLD_CENTS,
  type Currency,
  type TransferCommand,
  type TransferScenario,
} from './commands.js';
import { canSend, pickAccount, pickDestination, type PlanContext } from './selection.js';

/**
 * Single transfers: everyday one-step (debit and credit together) and two-step (debit only, the
 * transfer saga credits), to unknown and to frozen accounts, large and foreign-currency ones.
 * Each builder returns null when the model has no account that fits; the planner then falls back.
 */
const RATES: Record<Exclude<Currency, 'USD'>, number> = { EUR: 1.08, GBP: 1.27 };
const DOMESTIC_FEES_CENTS = [0, 0, 0, 50, 100, 250];
const FOREIGN_FEE_CENTS = 500;
const LARGE_FEE_CENTS = 2_500;
/** A source must hold at least this much for an everyday payment. */
const MIN_SOURCE_CENTS = 1_000;

interface Money {
  amountCents: number;
  feeCents: number;
  currency: Currency;
  exchangeRate: number;
  legacy: boolean;
}

/** USD money; a share of debits use the "1.0" schema, which had no fees. */
function usd(ctx: PlanContext, amountCents: number, feeCents: number): Money {
  const legacy = ctx.rng.chance(ctx.legacyShare);
  return { amountCents, feeCents: legacy ? 0 : feeCents, currency: 'USD', exchangeRate: 1, legacy };
}

function command(
  ctx: PlanContext,
  scenario: TransferScenario,
  from: AccountView,
  to: string,
  money: Money,
  withCredit: boolean,
): TransferCommand {
  return {
    kind: 'transfer',
    scenario,
    from: from.id,
    to,
    ...money,
    withCredit,
    reference: reference(ctx.rng),
    description: description(ctx.rng),
    initiatedBy: `customer:${from.id}`,
    channel: customerChannel(ctx.rng, from),
  };
}

/** An everyday amount the source can afford, leaving it some money. */
function everydayMoney(ctx: PlanContext, from: AccountView, fee: number): number {
  return Math.max(100, Math.min(everydayCents(ctx.rng), Math.floor((from.balanceCents - fee) / 2)));
}

function everyday(
  ctx: PlanContext,
  scenario: TransferScenario,
  to?: string,
  withCredit = false,
): TransferCommand | null {
  const fee = ctx.rng.pick(DOMESTIC_FEES_CENTS);
  const from = pickAccount(ctx, (acc) => canSend(ctx, acc, MIN_SOURCE_CENTS + fee));
  if (!from) return null;
  const dest = to ?? pickDestination(ctx, from.id)?.id;
  if (dest === undefined) return null;
  const money = usd(ctx, everydayMoney(ctx, from, fee), fee);
  return command(ctx, scenario, from, dest, money, withCredit);
}

/** Debit and credit together; a run with one event left writes a two-step transfer instead. */
export function oneStep(ctx: PlanContext): TransferCommand | null {
  const fits = ctx.budget >= 2;
  return everyday(ctx, fits ? 'one-step' : 'two-step', undefined, fits);
}

export function twoStep(ctx: PlanContext): TransferCommand | null {
  return everyday(ctx, 'two-step');
}

export function toUnknown(ctx: PlanContext): TransferCommand | null {
  return everyday(ctx, 'to-unknown', ctx.unknownAccountId());
}

export function toFrozen(ctx: PlanContext): TransferCommand | null {
  const frozen = ctx.book.frozen();
  if (frozen.length === 0) return null;
  return everyday(ctx, 'to-frozen', ctx.rng.pick(frozen).id);
}

export function large(ctx: PlanContext): TransferCommand | null {
  const amount = ctx.rng.int(LARGE_THRESHOLD_CENTS, 5 * LARGE_THRESHOLD_CENTS);
  const money = usd(ctx, amount, LARGE_FEE_CENTS);
  const from = pickAccount(ctx, (acc) => canSend(ctx, acc, amount + money.feeCents));
  const to = from && pickDestination(ctx, from.id);
  if (!from || !to) return null;
  return command(ctx, 'large', from, to.id, money, ctx.budget >= 2 && ctx.rng.chance(0.5));
}

export function foreign(ctx: PlanContext): TransferCommand | null {
  const currency = ctx.rng.pick(['EUR', 'GBP'] as const);
  // A quoted rate moves a little around its reference, to four decimals.
  const exchangeRate =
    Math.round((RATES[currency] + (ctx.rng.next() - 0.5) * 0.06) * 10_000) / 10_000;
  const from = pickAccount(ctx, (acc) => canSend(ctx, acc, MIN_SOURCE_CENTS + FOREIGN_FEE_CENTS));
  const to = from && pickDestination(ctx, from.id);
  if (!from || !to) return null;
  const money: Money = {
    amountCents: everydayMoney(ctx, from, FOREIGN_FEE_CENTS),
    feeCents: FOREIGN_FEE_CENTS,
    currency,
    exchangeRate,
    legacy: false,
  };
  return command(ctx, 'foreign', from, to.id, money, ctx.budget >= 2 && ctx.rng.chance(0.5));
}
