import { defineUpcaster, type Upcaster } from '../src/dispatch/upcast.js';
import type { EventData } from '../src/events/types.js';

/**
 * The bank domain's upcasters (DOMAIN.md "Old schema versions"). `FundsDebited` 1.0 was written
 * before fees and foreign currency existed: 2.0 adds `feeAmount: 0` and `exchangeRate: 1` and
 * keeps every other field. A value the 1.0 event happens to carry already is kept as it is.
 */
type FundsDebitedV1 = EventData;
type FundsDebitedV2 = EventData & { feeAmount: unknown; exchangeRate: unknown };

const upcasters: Upcaster[] = [
  defineUpcaster<FundsDebitedV1, FundsDebitedV2>('FundsDebited', '1.0', '2.0', (data) => ({
    ...data,
    feeAmount: data.feeAmount ?? 0,
    exchangeRate: data.exchangeRate ?? 1,
  })),
];

export default upcasters;
