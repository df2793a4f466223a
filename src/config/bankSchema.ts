import { z } from 'zod';

/**
 * Settings of the built-in bank modules (DOMAIN.md): thresholds, windows and timeouts.
 * Part of the main config under `bank`; every module receives them in `ctx.settings`.
 * Changing any compliance value bumps the rulesVersion recorded in compliance_audit_view.
 */
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const int = (def: number, min = 0) => z.number().int().min(min).default(def);
const points = (def: number) => z.number().min(0).max(100).default(def);

/** DOMAIN.md "Compliance rules"; every default is the documented one. */
export const complianceSchema = z
  .object({
    /** `large_transaction` (and a compliance review) at an amount of this or more. */
    largeTransactionThreshold: z.number().positive().default(10_000),
    /** Risk level `medium` above this amount (when not already `high`). */
    mediumRiskThreshold: z.number().min(0).default(1_000),
    /** `foreign_currency` for any other currency (ISO 4217 code). */
    homeCurrency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be a three-letter ISO 4217 code such as USD')
      .default('USD'),
    /** retentionDate = event time + this many days (7 years). */
    retentionDays: int(2_555, 1),
    /** The risk score counts events of this many days back. */
    riskWindowDays: int(30, 1),
    riskScoreCap: int(100, 1),
    highRiskPoints: points(20),
    flaggedPoints: points(15),
    distinctIpPoints: points(5),
    burstPoints: points(25),
    /** The burst points apply when the last hour holds more events than this. */
    burstEventsPerHour: int(10),
    /** Velocity: suspicious when the last 24 hours hold more debits than this. */
    velocityDebitsPerDay: int(20, 1),
    /** Structuring: this many debits within 24 hours, each in the band below the threshold. */
    structuringMinDebits: int(3, 2),
    /** The structuring band starts at this fraction of largeTransactionThreshold. */
    structuringBandRatio: z.number().gt(0).lt(1).default(0.9),
    /**
     * Most entries kept per account and window; beyond it the oldest are dropped, so counts
     * saturate here (far above every threshold) and the per-account document stays small.
     */
    windowMaxEntries: int(5_000, 100),
  })
  .strict()
  .refine((c) => c.mediumRiskThreshold < c.largeTransactionThreshold, {
    path: ['mediumRiskThreshold'],
    message: 'must be below largeTransactionThreshold',
  });

export const sagasSchema = z
  .object({
    transfer: z
      .object({
        /** Grace before the saga issues a missing credit (the command side may still write it). */
        creditDelayMs: int(2_000),
        /** Compensate when the credit has not happened this long after the debit was handled. */
        timeoutMs: int(5 * 60_000, 1),
        /** Failed credit attempts retried (with doubling backoff) before compensating. */
        maxRetries: int(3),
        retryBaseDelayMs: int(5_000, 1),
      })
      .strict()
      .refine((t) => t.creditDelayMs < t.timeoutMs, {
        path: ['creditDelayMs'],
        message: 'must be below timeoutMs',
      })
      .prefault({}),
    complianceReview: z
      .object({
        /** Past this, an unreviewed case is marked `overdue`. */
        reviewDeadlineMs: int(72 * HOUR_MS, 1),
        /** Past this, an unreviewed case is `timed_out`. */
        timeoutMs: int(7 * DAY_MS, 1),
      })
      .strict()
      .refine((r) => r.reviewDeadlineMs <= r.timeoutMs, {
        path: ['reviewDeadlineMs'],
        message: 'must not exceed timeoutMs',
      })
      .prefault({}),
    fraud: z
      .object({
        /** Freeze the account when a detection carries a risk score of this or more. */
        freezeRiskScore: z.number().min(0).max(100).default(80),
        /** A monitored account is cleared after this long without a new detection. */
        monitoringPeriodMs: int(30 * DAY_MS, 1),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export const bankSchema = z
  .object({
    /** aggregate_snapshots: one snapshot every N events of an account. */
    snapshotEveryEvents: z.number().int().min(1).default(100),
    compliance: complianceSchema.prefault({}),
    sagas: sagasSchema.prefault({}),
  })
  .strict();

export type BankSettings = z.output<typeof bankSchema>;
export type ComplianceSettings = BankSettings['compliance'];
export type SagaSettings = BankSettings['sagas'];

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
