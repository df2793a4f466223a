import { describe, expect, it } from 'vitest';
import { bankSchema, bankSettings } from '../../src/config/bankSchema.js';
import { configLeaves } from '../../src/config/env.js';
import { loadConfig } from '../../src/config/load.js';
import { ProjectordError } from '../../src/lib/errors.js';

function configError(env: Record<string, string>, bank?: unknown): ProjectordError {
  try {
    loadConfig({ env, flags: bank === undefined ? {} : { bank } });
  } catch (e) {
    expect(e).toBeInstanceOf(ProjectordError);
    return e as ProjectordError;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('bank settings: compliance and sagas', () => {
  it('defaults to the documented thresholds and timeouts', () => {
    const s = bankSchema.parse({});
    expect(s.snapshotEveryEvents).toBe(100);
    expect(s.compliance).toMatchObject({
      largeTransactionThreshold: 10_000,
      mediumRiskThreshold: 1_000,
      homeCurrency: 'USD',
      retentionDays: 2_555,
      riskWindowDays: 30,
      riskScoreCap: 100,
      highRiskPoints: 20,
      flaggedPoints: 15,
      distinctIpPoints: 5,
      burstPoints: 25,
      burstEventsPerHour: 10,
      velocityDebitsPerDay: 20,
      structuringMinDebits: 3,
      structuringBandRatio: 0.9,
    });
    expect(s.sagas.transfer).toMatchObject({ timeoutMs: 300_000, maxRetries: 3 });
    expect(s.sagas.complianceReview).toEqual({
      reviewDeadlineMs: 72 * 3_600_000,
      timeoutMs: 7 * 24 * 3_600_000,
    });
    expect(s.sagas.fraud.freezeRiskScore).toBe(80);
  });

  it('reads the bank settings a module context carries', () => {
    const settings = { bank: { compliance: { largeTransactionThreshold: 5_000 } } };
    expect(bankSettings(settings).compliance.largeTransactionThreshold).toBe(5_000);
    expect(bankSettings({}).compliance.largeTransactionThreshold).toBe(10_000);
  });

  it('has an environment variable for every leaf', () => {
    const envs = configLeaves().map((l) => l.env);
    expect(envs).toContain('PROJECTORD_BANK_COMPLIANCE_LARGE_TRANSACTION_THRESHOLD');
    expect(envs).toContain('PROJECTORD_BANK_SAGAS_TRANSFER_TIMEOUT_MS');
    expect(envs).toContain('PROJECTORD_BANK_SAGAS_FRAUD_FREEZE_RISK_SCORE');
    const c = loadConfig({ env: { PROJECTORD_BANK_SAGAS_TRANSFER_MAX_RETRIES: '5' } });
    expect(c.bank.sagas.transfer.maxRetries).toBe(5);
  });

  const bad: [string, unknown, RegExp][] = [
    [
      'a negative large threshold',
      { compliance: { largeTransactionThreshold: -1 } },
      /bank\.compliance\.largeTransactionThreshold/,
    ],
    [
      'a zero large threshold',
      { compliance: { largeTransactionThreshold: 0 } },
      /largeTransactionThreshold/,
    ],
    [
      'a medium threshold not below the large one',
      { compliance: { mediumRiskThreshold: 10_000 } },
      /mediumRiskThreshold": must be below largeTransactionThreshold/,
    ],
    ['a currency that is no ISO code', { compliance: { homeCurrency: 'usd' } }, /homeCurrency/],
    ['a fractional retention', { compliance: { retentionDays: 1.5 } }, /retentionDays/],
    ['points above 100', { compliance: { flaggedPoints: 101 } }, /flaggedPoints/],
    ['a band ratio of 1', { compliance: { structuringBandRatio: 1 } }, /structuringBandRatio/],
    [
      'structuring on one debit',
      { compliance: { structuringMinDebits: 1 } },
      /structuringMinDebits/,
    ],
    [
      'an unknown compliance key',
      { compliance: { largeThreshold: 5 } },
      /"bank\.compliance\.largeThreshold"/,
    ],
    [
      'a negative saga timeout',
      { sagas: { transfer: { timeoutMs: -5 } } },
      /sagas\.transfer\.timeoutMs/,
    ],
    [
      'a credit delay beyond the timeout',
      { sagas: { transfer: { creditDelayMs: 10_000, timeoutMs: 5_000 } } },
      /creditDelayMs": must be below timeoutMs/,
    ],
    [
      'a review deadline beyond the saga timeout',
      { sagas: { complianceReview: { reviewDeadlineMs: 10, timeoutMs: 5 } } },
      /reviewDeadlineMs": must not exceed timeoutMs/,
    ],
    ['a freeze score above 100', { sagas: { fraud: { freezeRiskScore: 101 } } }, /freezeRiskScore/],
    ['an unknown saga', { sagas: { refunds: {} } }, /"bank\.sagas\.refunds"/],
    ['a string where a number goes', { compliance: { riskWindowDays: '30' } }, /riskWindowDays/],
  ];
  it.each(bad)('rejects %s with exit 2, naming the key', (_what, bank, message) => {
    const err = configError({}, bank);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(message);
  });

  /** `{ a: { b: value } }` from 'a.b': one key of the bank settings, everything else default. */
  const at = (path: string, value: unknown): unknown =>
    path.split('.').reduceRight<unknown>((inner, key) => ({ [key]: inner }), value);

  // [key under bank, a bad value, a good value]: the good one shows the key path is real and
  // that the bad value alone is what gets refused.
  const badValues: [string, unknown, number][] = [
    ['compliance.riskScoreCap', 0, 100],
    ['compliance.highRiskPoints', -1, 20],
    ['compliance.distinctIpPoints', 'five', 5],
    ['compliance.burstPoints', -25, 25],
    ['compliance.burstEventsPerHour', 2.5, 10],
    ['compliance.velocityDebitsPerDay', 0, 20],
    ['compliance.windowMaxEntries', 99, 100],
    ['compliance.mediumRiskThreshold', -1, 0],
    ['sagas.transfer.maxRetries', -1, 0],
    ['sagas.transfer.retryBaseDelayMs', 0, 1],
    ['sagas.transfer.creditDelayMs', '2s', 0],
    ['sagas.fraud.monitoringPeriodMs', 0, 1],
    ['sagas.complianceReview.timeoutMs', '7d', 7 * 24 * 3_600_000],
  ];
  it.each(badValues)('rejects bank.%s = %j with exit 2, naming the key', (path, bad, good) => {
    const err = configError({}, at(path, bad));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain(`"bank.${path}": `);
    expect(() => loadConfig({ env: {}, flags: { bank: at(path, good) } })).not.toThrow();
  });

  it('rejects a bad value from the environment too', () => {
    const err = configError({ PROJECTORD_BANK_COMPLIANCE_LARGE_TRANSACTION_THRESHOLD: '-3' });
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/largeTransactionThreshold/);
  });
});
