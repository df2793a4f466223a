import accountSummary from '../../projections/account-summary.js';
import aggregateSnapshots from '../../projections/aggregate-snapshots.js';
import balanceProjections from '../../projections/balance-projections.js';
import complianceReviewSaga from '../../projections/compliance-review-saga.js';
import compliance from '../../projections/compliance.js';
import fraudSaga from '../../projections/fraud-saga.js';
import transactionHistory from '../../projections/transaction-history.js';
import transferSaga from '../../projections/transfer-saga.js';
import upcasters from '../../projections/upcasters.js';
import type { ModuleDefinition } from '../../src/modules/types.js';

/** Every built-in bank module (projections and reactions) and the bank's upcasters. */
export const BANK_MODULES: readonly ModuleDefinition[] = [
  accountSummary,
  aggregateSnapshots,
  balanceProjections,
  transactionHistory,
  compliance,
  complianceReviewSaga,
  fraudSaga,
  transferSaga,
];

export const BANK_UPCASTERS = upcasters;
