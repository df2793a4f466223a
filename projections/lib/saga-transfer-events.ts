import type { ProjectorEvent } from '../../src/events/types.js';
import type { NewEvent } from '../../src/modules/types.js';
import {
  amountField,
  dataOf,
  eventTime,
  idField,
  metaIdOf,
  optionalTextField,
  rateField,
  textField,
} from './validate.js';

/**
 * The transfer saga's view of a debit, and the events it appends: the credit it issues to the
 * destination (as the command side would write it, schema "2.0") and the compensating
 * DebitReversed on the source, which gives back amount + fee (DOMAIN.md). Each append's
 * idempotencyKey is the transfer id and the step, so a step repeated for any reason appends once.
 */
export interface TransferFacts {
  transferId: string;
  sourceAccountId: string;
  destinationAccountId: string;
  aggregateType: string;
  amount: number;
  feeAmount: number;
  currency: string;
  exchangeRate: number;
  reference: string | null;
  description: string | null;
  correlationId: string | null;
  debitEventId: string;
  debitedAt: Date;
}

export function transferOfDebit(event: ProjectorEvent): TransferFacts {
  const data = dataOf(event);
  return {
    transferId: idField(data, 'transferId'),
    sourceAccountId: event.aggregateId,
    destinationAccountId: idField(data, 'toAccountId'),
    aggregateType: event.aggregateType,
    amount: amountField(data, 'amount'),
    feeAmount: amountField(data, 'feeAmount', 0),
    currency: textField(data, 'currency'),
    exchangeRate: rateField(data, 'exchangeRate'),
    reference: optionalTextField(data, 'reference'),
    description: optionalTextField(data, 'description'),
    correlationId: metaIdOf(event, 'correlationId'),
    debitEventId: event.eventId,
    debitedAt: eventTime(event),
  };
}

export const CREDITED_BY = 'projectord:transfer-saga';

export function issuedCredit(t: TransferFacts, now: Date): NewEvent {
  return {
    aggregateId: t.destinationAccountId,
    aggregateType: t.aggregateType,
    eventType: 'FundsCredited',
    eventVersion: '2.0',
    eventData: {
      transferId: t.transferId,
      amount: t.amount,
      currency: t.currency,
      fromAccountId: t.sourceAccountId,
      reference: t.reference,
      description: t.description,
      creditedBy: CREDITED_BY,
      creditedAt: now,
      transferType: 'inbound',
      feeAmount: 0,
      exchangeRate: t.exchangeRate,
    },
    idempotencyKey: `${t.transferId}:credit`,
    // Issued from a deadline (no event in hand): caused by the debit.
    causationId: t.debitEventId,
    ...(t.correlationId === null ? {} : { correlationId: t.correlationId }),
  };
}

export type CompensationReason =
  'destination_unknown' | 'destination_frozen' | 'credit_timeout' | 'credit_failed';

export function compensation(t: TransferFacts, reason: CompensationReason): NewEvent {
  return {
    aggregateId: t.sourceAccountId,
    aggregateType: t.aggregateType,
    eventType: 'DebitReversed',
    eventVersion: '1.0',
    eventData: {
      transferId: t.transferId,
      amount: t.amount,
      feeAmount: t.feeAmount,
      currency: t.currency,
      reason,
    },
    idempotencyKey: `${t.transferId}:reverse`,
    causationId: t.debitEventId,
    ...(t.correlationId === null ? {} : { correlationId: t.correlationId }),
  };
}
