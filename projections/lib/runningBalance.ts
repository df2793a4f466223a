import type { Document } from 'mongodb';
import type { GuardedUpdate } from '../../src/modules/types.js';

/**
 * A per-account running balance kept in a module's own collection, written with the guarded
 * `upsert` (so its `version` is the last event applied to it). Events of one account run in
 * version order and each event's writes are durable before the next one runs, so reading the
 * document gives the balance before the current event — except after a crash that landed only
 * part of this event's writes; then the stored version equals the event's, and the stored
 * `balanceBefore`/`balance` are exactly this event's step (no float subtraction to undo it).
 */
export interface RunningBalance extends Document {
  balance: number;
  balanceBefore: number;
  version: number;
}

export interface BalanceStep {
  before: number;
  after: number;
}

/**
 * The balance before and after the event at `version` moving it by `delta`, or undefined when a
 * later event has already been applied (every write of this event is then durable: skip it).
 */
export function balanceStep(
  prior: RunningBalance | null,
  version: number,
  delta: number,
): BalanceStep | undefined {
  if (!prior) return { before: 0, after: delta };
  const at = typeof prior.version === 'number' ? prior.version : 0;
  if (typeof prior.balance !== 'number' || typeof prior.balanceBefore !== 'number') {
    throw new Error(
      `running balance of ${String(prior._id)} is not the shape this module writes ` +
        '(balance, balanceBefore): rebuild the module',
    );
  }
  if (at > version) return undefined;
  if (at === version) return { before: prior.balanceBefore, after: prior.balance };
  return { before: prior.balance, after: prior.balance + delta };
}

/** The write that records a step (the guard stores the event's version alongside). */
export function balanceUpdate(step: BalanceStep, extra: Document = {}): GuardedUpdate {
  return { set: { ...extra, balance: step.after, balanceBefore: step.before } };
}
