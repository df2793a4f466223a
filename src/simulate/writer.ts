import { ObjectId, type Db, type Document } from 'mongodb';
import { appendEvent, eventStore } from '../events/eventStore.js';
import { ProjectordError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';
import type { AccountBook, AccountView } from './accountBook.js';
import type { Command, FreezeCommand, OpenAccountCommand, TransferCommand } from './commands.js';
import {
  accountCreated,
  accountFrozen,
  fundsCredited,
  fundsDebited,
  type Issued,
  type SimulatedEvent,
} from './events.js';

/**
 * Executes commands against event_store the way a careful command side does: read the
 * account's stream tail, decide, append with the version it decided on (optimistic
 * concurrency). A debit is appended only with `expectedVersion` = the last version it checked,
 * so an AccountFrozen a reaction slipped in meanwhile turns the append into a conflict, the
 * tail is read again, and the debit is refused: a frozen account is never debited, and never
 * below zero. Credits and freezes are valid at any version and just take the next one
 * (appendEvent retries on E11000). Opening an account that already exists (another simulator
 * won the race) adopts it instead.
 */
export type Refusal = 'frozen' | 'insufficient-funds' | 'unknown-account' | 'contended';

export interface WrittenEvent {
  eventType: string;
  aggregateId: string;
  eventVersion: string;
}

export interface Outcome {
  written: WrittenEvent[];
  /** Optimistic-concurrency conflicts met (and retried) on the way. */
  conflicts: number;
  refused?: Refusal;
  /** The account to open already existed: it was folded from the store instead. */
  adopted?: boolean;
}

export interface CommandWriter {
  execute(cmd: Command): Promise<Outcome>;
}

export interface WriterOptions {
  db: Db;
  book: AccountBook;
  now: () => Date;
  logger: Logger;
  /** Re-reads of the stream tail after a conflict before a debit is given up. */
  maxConflictRetries?: number;
}

const isConflict = (e: unknown) => e instanceof ProjectordError && e.code === 'APPEND_CONFLICT';

export function createCommandWriter(opts: WriterOptions): CommandWriter {
  const { db, book, now, logger } = opts;
  const maxRetries = opts.maxConflictRetries ?? 8;

  /** Folds everything after the known version: the simulator's own gaps, reactions, rivals. */
  async function syncTail(acc: AccountView): Promise<void> {
    const tail = eventStore(db)
      .find({ aggregateId: { $eq: acc.id }, version: { $gt: acc.knownVersion } })
      .sort({ version: 1 });
    for await (const doc of tail) {
      if (!book.fold(acc.id, foldable(doc))) break;
    }
  }

  async function append(input: SimulatedEvent, expectedVersion?: number): Promise<WrittenEvent> {
    const appended = await appendEvent(db, input, { now, expectedVersion });
    // Fold our own event only when it is the next one we know; otherwise the tail read folds it.
    book.fold(input.aggregateId, {
      version: appended.version,
      eventType: input.eventType,
      eventTimestamp: input.eventTimestamp,
      eventData: input.eventData,
    });
    return {
      eventType: input.eventType,
      aggregateId: input.aggregateId,
      eventVersion: input.eventVersion ?? '1.0',
    };
  }

  const issue = (): Issued => ({ commandId: new ObjectId(), at: now() });

  async function open(cmd: OpenAccountCommand): Promise<Outcome> {
    const acc = book.add(cmd.accountId, cmd.customerIps);
    try {
      return { written: [await append(accountCreated(cmd, issue()), 0)], conflicts: 0 };
    } catch (e) {
      if (!isConflict(e)) throw e;
      await syncTail(acc);
      logger.debug({ accountId: cmd.accountId }, 'account already exists: adopted');
      return { written: [], conflicts: 1, adopted: true };
    }
  }

  async function transfer(cmd: TransferCommand): Promise<Outcome> {
    const from = book.get(cmd.from);
    if (!from) return { written: [], conflicts: 0, refused: 'unknown-account' };
    const cost = cmd.amountCents + cmd.feeCents;
    const transferId = new ObjectId().toHexString();
    const issued = issue();
    for (let conflicts = 0; conflicts <= maxRetries; conflicts++) {
      await syncTail(from);
      const refused: Refusal | undefined = from.frozen
        ? 'frozen'
        : from.balanceCents < cost
          ? 'insufficient-funds'
          : undefined;
      if (refused) return { written: [], conflicts, refused };
      try {
        const debit = await append(fundsDebited(cmd, transferId, issued), from.knownVersion);
        if (!cmd.withCredit) return { written: [debit], conflicts };
        const credit = await append(fundsCredited(cmd, transferId, issued));
        return { written: [debit, credit], conflicts };
      } catch (e) {
        if (!isConflict(e)) throw e;
        logger.debug(
          { accountId: cmd.from, conflicts },
          'debit conflicted: re-reading the account',
        );
      }
    }
    return { written: [], conflicts: maxRetries + 1, refused: 'contended' };
  }

  async function freeze(cmd: FreezeCommand): Promise<Outcome> {
    const acc = book.get(cmd.accountId);
    if (!acc) return { written: [], conflicts: 0, refused: 'unknown-account' };
    if (acc.frozen) return { written: [], conflicts: 0, refused: 'frozen' };
    return { written: [await append(accountFrozen(cmd, issue()))], conflicts: 0 };
  }

  return {
    execute(cmd) {
      switch (cmd.kind) {
        case 'open-account':
          return open(cmd);
        case 'transfer':
          return transfer(cmd);
        case 'freeze':
          return freeze(cmd);
      }
    },
  };
}

function foldable(doc: Document) {
  return {
    version: typeof doc.version === 'number' ? doc.version : Number.NaN,
    eventType: typeof doc.eventType === 'string' ? doc.eventType : '',
    eventTimestamp: doc.eventTimestamp instanceof Date ? doc.eventTimestamp : undefined,
    eventData:
      typeof doc.eventData === 'object' && doc.eventData !== null
        ? (doc.eventData as Document)
        : undefined,
  };
}
