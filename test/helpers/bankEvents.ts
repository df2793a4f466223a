import type { Db } from 'mongodb';
import { appendEvent, type Appended } from '../../src/events/eventStore.js';

/**
 * The bank's command side as the end-to-end tests need it: accounts, one- and two-step
 * transfers and freezes, written to event_store with its optimistic concurrency (appendEvent
 * takes the next version and retries a collision with a saga appending to the same account).
 * Events carry DOMAIN.md's fields; `at` sets the business time (eventTimestamp) so compliance
 * windows can be placed anywhere without waiting.
 */
export const BANK_AGGREGATE = 'BankAccount';

export interface TransferSpec {
  transferId: string;
  from: string;
  to: string;
  amount: number;
  fee?: number;
  currency?: string;
  at?: Date;
  sourceIp?: string;
}

export interface BankWriter {
  open(accountId: string, initialBalance: number, at?: Date): Promise<Appended>;
  /** The first half of a transfer: a FundsDebited on the source (two-step: the saga credits). */
  debit(t: TransferSpec): Promise<Appended>;
  /** The command side's own credit (a one-step transfer writes both). */
  credit(t: TransferSpec): Promise<Appended>;
  transfer(t: TransferSpec): Promise<void>;
  freeze(accountId: string, reason?: string): Promise<Appended>;
}

function metadata(t: { transferId?: string; sourceIp?: string }) {
  return {
    sourceIp: t.sourceIp ?? '10.0.0.1',
    userAgent: 'bank-test/1.0',
    ...(t.transferId ? { correlationId: `corr-${t.transferId}` } : {}),
    securityLevel: 'standard',
  };
}

export function bankWriter(db: Db): BankWriter {
  const writer: BankWriter = {
    open(accountId, initialBalance, at) {
      const when = at ?? new Date();
      return appendEvent(db, {
        aggregateId: accountId,
        aggregateType: BANK_AGGREGATE,
        eventType: 'AccountCreated',
        eventVersion: '1.0',
        eventData: {
          accountNumber: `NO-${accountId}`,
          accountHolder: `Holder of ${accountId}`,
          accountType: 'checking',
          initialBalance,
          currency: 'USD',
          createdBy: 'bank-test',
          createdAt: when,
        },
        eventMetadata: metadata({}),
        eventTimestamp: when,
      });
    },
    debit(t) {
      const when = t.at ?? new Date();
      return appendEvent(db, {
        aggregateId: t.from,
        aggregateType: BANK_AGGREGATE,
        eventType: 'FundsDebited',
        eventVersion: '2.0',
        eventData: {
          transferId: t.transferId,
          amount: t.amount,
          currency: t.currency ?? 'USD',
          toAccountId: t.to,
          reference: `ref-${t.transferId}`,
          description: 'bank test transfer',
          debitedBy: `customer:${t.from}`,
          debitedAt: when,
          transferType: 'outbound',
          feeAmount: t.fee ?? 0,
          exchangeRate: 1,
        },
        eventMetadata: metadata(t),
        eventTimestamp: when,
      });
    },
    credit(t) {
      const when = t.at ?? new Date();
      return appendEvent(db, {
        aggregateId: t.to,
        aggregateType: BANK_AGGREGATE,
        eventType: 'FundsCredited',
        eventVersion: '2.0',
        eventData: {
          transferId: t.transferId,
          amount: t.amount,
          currency: t.currency ?? 'USD',
          fromAccountId: t.from,
          reference: `ref-${t.transferId}`,
          description: 'bank test transfer',
          creditedBy: 'bank-test',
          creditedAt: when,
          transferType: 'inbound',
          feeAmount: 0,
          exchangeRate: 1,
        },
        eventMetadata: metadata(t),
        eventTimestamp: when,
      });
    },
    async transfer(t) {
      await writer.debit(t);
      await writer.credit(t);
    },
    freeze(accountId, reason = 'bank test freeze') {
      const when = new Date();
      return appendEvent(db, {
        aggregateId: accountId,
        aggregateType: BANK_AGGREGATE,
        eventType: 'AccountFrozen',
        eventVersion: '1.0',
        eventData: {
          reason,
          frozenBy: 'bank-test',
          frozenAt: when,
          expectedDuration: 'indefinite',
          complianceReference: `test-${accountId}`,
        },
        eventMetadata: metadata({}),
        eventTimestamp: when,
      });
    },
  };
  return writer;
}
