import { ObjectId, type Db, type Document } from 'mongodb';
import { ACCOUNT_EVENTS, MONEY_EVENTS } from '../projections/lib/money.js';
import { EVENT_STORE } from '../src/events/eventStore.js';

/**
 * What event_store says the read models must hold, read in one scan (the fallback server scans
 * for any filter anyway). Poison events are left out by eventId: they must have changed nothing.
 * Money is in cents, rounded per event, so sums are exact.
 */
export interface StoreFacts {
  events: number;
  byType: Record<string, number>;
  /** Per bank account: the last version among the types account-summary applies. */
  lastAccountVersion: Map<string, number>;
  /** FundsDebited + FundsCredited + DebitReversed: one transaction_history_view row each. */
  moneyEvents: number;
  /** Their event ids, as the rows' `_id`s (ObjectIds as hex). */
  moneyEventIds: Set<string>;
  /** Distinct transfer ids of the debits: one transfer saga each. */
  transferIds: Set<string>;
  /** Initial balances of the accounts opened (AccountCreated). */
  depositsCents: number;
  /**
   * Fees the bank kept: feeAmount of every FundsDebited (0 when absent: schema "1.0" predates
   * fees) minus feeAmount of every DebitReversed (a compensation gives the fee back).
   */
  feesCents: number;
}

const ACCOUNT_TYPES: ReadonlySet<string> = new Set(ACCOUNT_EVENTS);
const MONEY_TYPES: ReadonlySet<string> = new Set(MONEY_EVENTS);
const idText = (v: unknown): string =>
  v instanceof ObjectId ? v.toHexString() : typeof v === 'string' ? v : JSON.stringify(v);
export const cents = (v: unknown): number => (typeof v === 'number' ? Math.round(v * 100) : 0);

export async function readStoreFacts(db: Db, poison: ReadonlySet<string>): Promise<StoreFacts> {
  const facts: StoreFacts = {
    events: 0,
    byType: {},
    lastAccountVersion: new Map(),
    moneyEvents: 0,
    moneyEventIds: new Set(),
    transferIds: new Set(),
    depositsCents: 0,
    feesCents: 0,
  };
  const cursor = db.collection(EVENT_STORE).find(
    {},
    {
      projection: {
        eventId: 1,
        aggregateId: 1,
        version: 1,
        eventType: 1,
        'eventData.transferId': 1,
        'eventData.feeAmount': 1,
        'eventData.initialBalance': 1,
      },
    },
  );
  for await (const e of cursor) {
    if (typeof e.eventId === 'string' && poison.has(e.eventId)) continue;
    facts.events += 1;
    const type = String(e.eventType);
    facts.byType[type] = (facts.byType[type] ?? 0) + 1;
    const data = (e.eventData ?? {}) as Document;
    if (MONEY_TYPES.has(type)) {
      facts.moneyEvents += 1;
      facts.moneyEventIds.add(idText(e.eventId));
    }
    if (type === 'FundsDebited') {
      facts.transferIds.add(String(data.transferId));
      facts.feesCents += cents(data.feeAmount);
    }
    if (type === 'DebitReversed') facts.feesCents -= cents(data.feeAmount);
    if (type === 'AccountCreated') facts.depositsCents += cents(data.initialBalance);
    if (ACCOUNT_TYPES.has(type) && typeof e.aggregateId === 'string') {
      const v = Number(e.version);
      const last = facts.lastAccountVersion.get(e.aggregateId) ?? 0;
      if (v > last) facts.lastAccountVersion.set(e.aggregateId, v);
    }
  }
  return facts;
}
