import { strangerChannel, reference } from './catalog.js';
import {
  LARGE_THRESHOLD_CENTS,
  STRUCTURING_MIN_CENTS,
  VELOCITY_LIMIT,
  type TransferCommand,
} from './commands.js';
import { canSend, pickAccount, pickDestination, type PlanContext } from './selection.js';

/**
 * Patterns the compliance rules must catch, planned as a run of debit-only commands from one
 * account (the transfer saga credits them):
 *  - structuring: 3-4 debits, each 90-100% of the large-transaction threshold, within 24 hours;
 *  - velocity: 21-25 small debits, more than the 20 per 24 hours the rule allows.
 * A burst is only planned when the run's budget can hold all of it, so a `--count` run never
 * ends with half a pattern.
 */
function burst(
  ctx: PlanContext,
  scenario: 'structuring' | 'velocity',
  amounts: number[],
  accept: (total: number) => Parameters<typeof pickAccount>[1],
): TransferCommand[] | null {
  if (ctx.budget < amounts.length) return null;
  const total = amounts.reduce((a, b) => a + b, 0);
  const from = pickAccount(ctx, accept(total));
  if (!from) return null;
  const commands: TransferCommand[] = [];
  for (const [i, amountCents] of amounts.entries()) {
    const to = pickDestination(ctx, from.id);
    if (!to) return null;
    commands.push({
      kind: 'transfer',
      scenario,
      from: from.id,
      to: to.id,
      amountCents,
      feeCents: 0,
      currency: 'USD',
      exchangeRate: 1,
      legacy: false,
      withCredit: false,
      reference: reference(ctx.rng),
      description: scenario === 'structuring' ? 'Consulting fee' : 'Online purchase',
      initiatedBy: `customer:${from.id}`,
      channel: strangerChannel(ctx.rng),
      burst: { index: i + 1, size: amounts.length },
    });
  }
  return commands;
}

export function structuring(ctx: PlanContext): TransferCommand[] | null {
  const amounts = Array.from({ length: ctx.rng.int(3, 4) }, () =>
    ctx.rng.int(STRUCTURING_MIN_CENTS, LARGE_THRESHOLD_CENTS - 1),
  );
  return burst(
    ctx,
    'structuring',
    amounts,
    (total) => (acc) => canSend(ctx, acc, total, amounts.length),
  );
}

export function velocity(ctx: PlanContext): TransferCommand[] | null {
  const amounts = Array.from({ length: ctx.rng.int(VELOCITY_LIMIT + 1, VELOCITY_LIMIT + 5) }, () =>
    ctx.rng.int(500, 15_000),
  );
  // The burst is meant to break the velocity rule: only money and an active account matter.
  return burst(
    ctx,
    'velocity',
    amounts,
    (total) => (acc) => !acc.frozen && acc.balanceCents >= total,
  );
}
