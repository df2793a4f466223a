import { describe, expect, it } from 'vitest';
import { complianceSchema } from '../../src/config/bankSchema.js';
import {
  classify,
  inStructuringBand,
  retentionDate,
  rulesVersion,
  type ComplianceRules,
} from '../../projections/lib/compliance-rules.js';

const rules: ComplianceRules = complianceSchema.parse({});
const at = new Date('2025-03-01T10:00:00Z');

describe('compliance classification (DOMAIN.md "Compliance rules")', () => {
  const F = 'financial_transaction';
  const AML = 'aml_monitoring';
  const CUR = 'currency_reporting';
  const cases: [number, string | null, string[], string, string[]][] = [
    [0, 'USD', [], 'low', [F]],
    [1_000, 'USD', [], 'low', [F]],
    [1_000.01, 'USD', [], 'medium', [F]],
    [9_999.99, 'USD', [], 'medium', [F]],
    [10_000, 'USD', ['large_transaction'], 'high', [F, AML]],
    [10_000.01, 'USD', ['large_transaction'], 'high', [F, AML]],
    [1_000, 'EUR', ['foreign_currency'], 'low', [F, CUR]],
    [1_000.01, 'EUR', ['foreign_currency'], 'medium', [F, CUR]],
    [9_999.99, 'EUR', ['foreign_currency'], 'medium', [F, CUR]],
    [10_000, 'EUR', ['large_transaction', 'foreign_currency'], 'high', [F, AML, CUR]],
    [500, null, [], 'low', [F]],
  ];
  it.each(cases)(
    '%d %s → flags %j, risk %s, categories %j',
    (amount, currency, flags, risk, cats) => {
      const c = classify({ amount, currency, at }, rules);
      expect(c.regulatoryFlags).toEqual(flags);
      expect(c.riskLevel).toBe(risk);
      expect(c.complianceCategories).toEqual(cats);
    },
  );

  it('follows configured thresholds and home currency', () => {
    const custom = complianceSchema.parse({
      largeTransactionThreshold: 5_000,
      mediumRiskThreshold: 100,
      homeCurrency: 'EUR',
    });
    expect(classify({ amount: 5_000, currency: 'EUR', at }, custom)).toMatchObject({
      regulatoryFlags: ['large_transaction'],
      riskLevel: 'high',
    });
    expect(classify({ amount: 100.5, currency: 'USD', at }, custom)).toMatchObject({
      regulatoryFlags: ['foreign_currency'],
      riskLevel: 'medium',
    });
  });

  it('keeps records 2,555 days (7 years) from the event time', () => {
    expect(retentionDate(at, rules)).toEqual(new Date('2032-02-28T10:00:00Z'));
    expect(classify({ amount: 1, currency: 'USD', at }, rules).retentionDate).toEqual(
      new Date('2032-02-28T10:00:00Z'),
    );
  });

  it.each([
    [8_999.99, false],
    [9_000, true],
    [9_500, true],
    [9_999.99, true],
    [10_000, false],
  ])('structuring band: %d → %s', (amount, inBand) => {
    expect(inStructuringBand(amount, rules)).toBe(inBand);
  });
});

describe('rulesVersion', () => {
  it('is a short stable hash, independent of key order', () => {
    const v = rulesVersion(rules);
    expect(v).toMatch(/^[0-9a-f]{12}$/);
    expect(rulesVersion(complianceSchema.parse({}))).toBe(v);
    const reversed = Object.fromEntries(Object.entries(rules).reverse()) as ComplianceRules;
    expect(rulesVersion(reversed)).toBe(v);
    expect(classify({ amount: 1, currency: 'USD', at }, rules).rulesVersion).toBe(v);
  });

  it.each(Object.keys(complianceSchema.parse({})))('changes when %s changes', (key) => {
    const base = rulesVersion(rules);
    const value = rules[key as keyof ComplianceRules];
    const changed =
      typeof value === 'number' ? (value > 0 && value < 1 ? value / 2 : value + 1) : 'EUR';
    expect(rulesVersion({ ...rules, [key]: changed })).not.toBe(base);
  });
});
