import { z } from 'zod';

/**
 * Settings of the built-in bank modules (DOMAIN.md): thresholds, windows and timeouts.
 * Part of the main config under `bank`; every module receives them in `ctx.settings`.
 * Changing any compliance value bumps the rulesVersion recorded in compliance_audit_view.
 */
export const bankSchema = z
  .object({
    /** aggregate_snapshots: one snapshot every N events of an account. */
    snapshotEveryEvents: z.number().int().min(1).default(100),
  })
  .strict();

export type BankSettings = z.output<typeof bankSchema>;

const cache = new WeakMap<object, BankSettings>();

/** The typed bank settings from a module context's `settings` (validated once at start-up). */
export function bankSettings(settings: Readonly<Record<string, unknown>>): BankSettings {
  let s = cache.get(settings);
  if (!s) {
    s = bankSchema.parse(settings.bank ?? {});
    cache.set(settings, s);
  }
  return s;
}
