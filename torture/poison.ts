import { ObjectId, type Db, type Document } from 'mongodb';
import { EVENT_STORE } from '../src/events/eventStore.js';

/**
 * Poison events for the torture run (DESIGN.md invariants 6 and 7): each is bad in one way a
 * real store can hold — a mistyped amount, `$`-keys in eventData, a non-string aggregateId, no
 * eventData at all — and each must end in projector_dead_letters (`invalid` for a bad envelope,
 * `parked` for a payload the handlers reject) and change no read model.
 *
 * Every poison event sits alone on an aggregate of its own (`poison-<seed>-<n>`, version 1) with
 * a transfer id of its own, so the aggregate it parks holds nothing else: the bank's accounts and
 * transfers never wait behind it, and money and versions can be checked exactly. Event ids are
 * strings (`poison-<seed>-<n>`), so a dead letter's eventId is comparable as is.
 */
export const POISON_KINDS = [
  'amount-string',
  'amount-nan',
  'amount-negative',
  'dollar-keys',
  'aggregate-id-operator',
  'missing-event-data',
  'initial-balance-string',
] as const;
export type PoisonKind = (typeof POISON_KINDS)[number];

export interface PoisonEvent {
  eventId: string;
  kind: PoisonKind;
  eventType: string;
}

function debitData(n: string): Document {
  return {
    transferId: `${n}-transfer`,
    amount: 125,
    currency: 'USD',
    toAccountId: `${n}-destination`,
    reference: 'torture',
    description: 'poison',
    debitedBy: 'torture',
    debitedAt: new Date(),
    transferType: 'outbound',
    feeAmount: 0,
    exchangeRate: 1,
  };
}

/** The document for the `n`th poison event (kinds in turn). */
export function poisonDocument(seed: number, n: number): { doc: Document; poison: PoisonEvent } {
  const kind = POISON_KINDS[n % POISON_KINDS.length] ?? 'amount-string';
  const id = `poison-${seed}-${n}`;
  const now = new Date();
  const doc: Document = {
    eventId: id,
    aggregateId: id,
    aggregateType: 'BankAccount',
    eventType: 'FundsDebited',
    eventVersion: '2.0',
    version: 1,
    eventTimestamp: now,
    storedAt: now,
    commandId: new ObjectId(),
    eventData: debitData(id),
    eventMetadata: {
      sourceIp: '203.0.113.9',
      correlationId: `${id}-transfer`,
      regulatoryFlags: [],
    },
  };
  const data = doc.eventData as Document;
  switch (kind) {
    case 'amount-string':
      data.amount = '125.00';
      break;
    case 'amount-nan':
      data.amount = Number.NaN;
      break;
    case 'amount-negative':
      data.amount = -125;
      break;
    case 'dollar-keys':
      // An update operator where a number belongs, and one beside the fields.
      data.amount = { $inc: 1_000_000 };
      data.$set = { currentBalance: 1_000_000_000 };
      break;
    case 'aggregate-id-operator':
      doc.aggregateId = { $ne: null };
      // Unique per poison event: {aggregateId, version} is a unique index.
      doc.version = n + 1;
      break;
    case 'missing-event-data':
      delete doc.eventData;
      break;
    case 'initial-balance-string':
      doc.eventType = 'AccountCreated';
      doc.eventVersion = '1.0';
      doc.eventData = {
        accountNumber: `${id}-number`,
        accountHolder: 'Poison Holder',
        accountType: 'checking',
        initialBalance: '1000000',
        currency: 'USD',
        createdBy: 'torture',
        createdAt: now,
      };
      break;
  }
  return { doc, poison: { eventId: id, kind, eventType: String(doc.eventType) } };
}

export async function appendPoison(db: Db, seed: number, n: number): Promise<PoisonEvent> {
  const { doc, poison } = poisonDocument(seed, n);
  await db.collection(EVENT_STORE).insertOne(doc);
  return poison;
}
