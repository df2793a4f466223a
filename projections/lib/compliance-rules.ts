import { createHash } from 'node:crypto';
import type { ComplianceSettings } from '../../src/config/bankSchema.js';

/**
 * The classification rules of DOMAIN.md "Compliance rules", as pure functions of an amount, a
 * currency, a time and the settings. Every audit entry records the `rulesVersion` it was
 * classified under: a short hash of all compliance settings, so changing any threshold changes
 * the version and an auditor can tell which rules produced an entry.
 */
export type ComplianceRules = ComplianceSettings;

export const FLAG_LARGE_TRANSACTION = 'large_transaction';
export const FLAG_FOREIGN_CURRENCY = 'foreign_currency';

export const CATEGORY_FINANCIAL = 'financial_transaction';
export const CATEGORY_AML = 'aml_monitoring';
export const CATEGORY_CURRENCY = 'currency_reporting';

export type RiskLevel = 'high' | 'medium' | 'low';

const DAY_MS = 86_400_000;

export interface Classification {
  regulatoryFlags: string[];
  riskLevel: RiskLevel;
  complianceCategories: string[];
  retentionDate: Date;
  rulesVersion: string;
}

export function isLargeTransaction(amount: number, rules: ComplianceRules): boolean {
  return amount >= rules.largeTransactionThreshold;
}

/**
 * `currency` null means the event carries none (a DebitReversed may not): no currency flag,
 * since nothing says the money was foreign.
 */
export function regulatoryFlags(
  amount: number,
  currency: string | null,
  rules: ComplianceRules,
): string[] {
  const flags: string[] = [];
  if (isLargeTransaction(amount, rules)) flags.push(FLAG_LARGE_TRANSACTION);
  if (currency !== null && currency !== rules.homeCurrency) flags.push(FLAG_FOREIGN_CURRENCY);
  return flags;
}

export function riskLevelOf(
  amount: number,
  flags: readonly string[],
  rules: ComplianceRules,
): RiskLevel {
  if (flags.includes(FLAG_LARGE_TRANSACTION)) return 'high';
  return amount > rules.mediumRiskThreshold ? 'medium' : 'low';
}

export function complianceCategories(flags: readonly string[]): string[] {
  const categories = [CATEGORY_FINANCIAL];
  if (flags.includes(FLAG_LARGE_TRANSACTION)) categories.push(CATEGORY_AML);
  if (flags.includes(FLAG_FOREIGN_CURRENCY)) categories.push(CATEGORY_CURRENCY);
  return categories;
}

export function retentionDate(at: Date, rules: ComplianceRules): Date {
  return new Date(at.getTime() + rules.retentionDays * DAY_MS);
}

/**
 * A debit in the structuring band: at least `structuringBandRatio` of the large threshold and
 * below it (at the threshold it is a large transaction, reported anyway).
 */
export function inStructuringBand(amount: number, rules: ComplianceRules): boolean {
  return (
    amount >= rules.largeTransactionThreshold * rules.structuringBandRatio &&
    amount < rules.largeTransactionThreshold
  );
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A stable 12-hex-digit hash of the settings: independent of key order, changed by any value. */
export function rulesVersion(rules: ComplianceRules): string {
  return createHash('sha256').update(canonical(rules)).digest('hex').slice(0, 12);
}

export function classify(
  input: { amount: number; currency: string | null; at: Date },
  rules: ComplianceRules,
): Classification {
  const flags = regulatoryFlags(input.amount, input.currency, rules);
  return {
    regulatoryFlags: flags,
    riskLevel: riskLevelOf(input.amount, flags, rules),
    complianceCategories: complianceCategories(flags),
    retentionDate: retentionDate(input.at, rules),
    rulesVersion: rulesVersion(rules),
  };
}
