import { ObjectId } from 'mongodb';
import type { AppendInput } from '../events/eventStore.js';
import type { EventMetadata } from '../events/types.js';
import type { Channel, FreezeCommand, OpenAccountCommand, TransferCommand } from './commands.js';

/**
 * Turns commands into event_store documents exactly as DOMAIN.md lays them out. One command id
 * per command (a one-step transfer's debit and credit share it); `causationId` is that command,
 * `correlationId` is the transfer id for transfers and the command for everything else. Ids are
 * fresh ObjectIds: they differ between runs of the same seed, nothing else does.
 */
export const AGGREGATE_TYPE = 'BankAccount';

/** Current schema versions of what the simulator writes (FundsDebited "1.0" is the legacy one). */
export const SCHEMA = {
  AccountCreated: '1.0',
  FundsDebited: '2.0',
  FundsDebitedLegacy: '1.0',
  FundsCredited: '2.0',
  AccountFrozen: '1.0',
} as const;

/** What the simulator appends: its account ids are strings. */
export type SimulatedEvent = AppendInput & { aggregateId: string };

export interface Issued {
  commandId: ObjectId;
  at: Date;
}

const units = (cents: number) => cents / 100;

function metadata(
  channel: Channel,
  issued: Issued,
  correlationId: string,
  securityLevel: string,
): EventMetadata {
  return {
    sourceIp: channel.sourceIp,
    userAgent: channel.userAgent,
    correlationId,
    causationId: issued.commandId.toHexString(),
    regulatoryFlags: [],
    securityLevel,
  };
}

function envelope(aggregateId: string, eventType: string, eventVersion: string, issued: Issued) {
  return {
    aggregateId,
    aggregateType: AGGREGATE_TYPE,
    eventType,
    eventVersion,
    eventId: new ObjectId(),
    commandId: issued.commandId,
    eventTimestamp: issued.at,
  };
}

export function accountCreated(cmd: OpenAccountCommand, issued: Issued): SimulatedEvent {
  return {
    ...envelope(cmd.accountId, 'AccountCreated', SCHEMA.AccountCreated, issued),
    eventData: {
      accountNumber: cmd.accountNumber,
      accountHolder: cmd.accountHolder,
      accountType: cmd.accountType,
      initialBalance: units(cmd.initialBalanceCents),
      currency: 'USD',
      createdBy: cmd.createdBy,
      createdAt: issued.at,
    },
    eventMetadata: metadata(cmd.channel, issued, issued.commandId.toHexString(), 'standard'),
  };
}

function transferSecurity(cmd: TransferCommand): string {
  return cmd.scenario === 'large' || cmd.currency !== 'USD' ? 'elevated' : 'standard';
}

export function fundsDebited(
  cmd: TransferCommand,
  transferId: string,
  issued: Issued,
): SimulatedEvent {
  const common = {
    transferId,
    amount: units(cmd.amountCents),
    currency: cmd.currency,
    toAccountId: cmd.to,
    reference: cmd.reference,
    description: cmd.description,
    debitedBy: cmd.initiatedBy,
    debitedAt: issued.at,
    transferType: 'outbound',
  };
  return {
    ...envelope(
      cmd.from,
      'FundsDebited',
      cmd.legacy ? SCHEMA.FundsDebitedLegacy : SCHEMA.FundsDebited,
      issued,
    ),
    // "1.0" predates fees and foreign payments: neither field exists in it.
    eventData: cmd.legacy
      ? common
      : { ...common, feeAmount: units(cmd.feeCents), exchangeRate: cmd.exchangeRate },
    eventMetadata: metadata(cmd.channel, issued, transferId, transferSecurity(cmd)),
  };
}

export function fundsCredited(
  cmd: TransferCommand,
  transferId: string,
  issued: Issued,
): SimulatedEvent {
  return {
    ...envelope(cmd.to, 'FundsCredited', SCHEMA.FundsCredited, issued),
    eventData: {
      transferId,
      amount: units(cmd.amountCents),
      currency: cmd.currency,
      fromAccountId: cmd.from,
      reference: cmd.reference,
      description: cmd.description,
      creditedBy: 'transfer-service',
      creditedAt: issued.at,
      transferType: 'inbound',
      feeAmount: 0,
      exchangeRate: cmd.exchangeRate,
    },
    eventMetadata: metadata(cmd.channel, issued, transferId, transferSecurity(cmd)),
  };
}

export function accountFrozen(cmd: FreezeCommand, issued: Issued): SimulatedEvent {
  return {
    ...envelope(cmd.accountId, 'AccountFrozen', SCHEMA.AccountFrozen, issued),
    eventData: {
      reason: cmd.reason,
      frozenBy: cmd.frozenBy,
      frozenAt: issued.at,
      expectedDuration: cmd.expectedDuration,
      complianceReference: cmd.complianceReference,
    },
    eventMetadata: metadata(cmd.channel, issued, issued.commandId.toHexString(), 'high'),
  };
}
