import { ObjectId, type Db, type Document } from 'mongodb';
import { eventStore } from '../../src/events/eventStore.js';
import { isDuplicateKeyError } from '../../src/lib/errors.js';

/**
 * The command side of the seed's bank article (shared/reference/000_7460ad3f1658da52.txt),
 * `executeCommand` + `storeEvents`, written as the article writes events, field by field:
 *  - `eventId`, `commandId` and `eventData.transferId` are `new ObjectId()`; account ids, the
 *    user id and the command's correlation and causation ids are whatever the caller gave;
 *  - every event says `eventVersion: "1.0"` (the debit has a fee and an exchange rate anyway);
 *  - metadata fields the command did not carry are `undefined` — stored as null by the driver's
 *    defaults, or absent with `ignoreUndefined` — and AccountCreated has no `regulatoryFlags`;
 *  - `storeEvents` stamps EVERY event of a command with the command's aggregateId and the next
 *    versions, so a TransferFunds writes its debit and its credit into the source's stream, one
 *    after the other, in one insertMany (one transaction in the article).
 * `ids: 'string'` writes the hex of the same ObjectIds instead: the same workload with string
 * ids, for comparing outcomes. `creditOn: 'destination'` is the other reading of a one-step
 * transfer (DOMAIN.md): the credit in the destination's own stream, in the same insertMany.
 */
export type IdMode = 'objectId' | 'string';

export interface SeedCommand {
  /** The command's own ids, fixed by the caller so that a retry or a second run reuses them. */
  ids: { command: ObjectId; events: readonly ObjectId[]; transfer?: ObjectId };
  userId?: ObjectId;
  correlationId?: ObjectId;
  causationId?: ObjectId;
  metadata?: { sourceIp?: string; userAgent?: string };
}

export interface CreateAccount extends SeedCommand {
  accountId: ObjectId;
  accountNumber: string;
  accountHolder: string;
  accountType: string;
  initialBalance?: number;
  currency?: string;
}

export interface TransferFunds extends SeedCommand {
  from: ObjectId;
  to: ObjectId;
  amount: number;
  currency?: string;
  reference?: string;
  description?: string;
  feeAmount?: number;
  exchangeRate?: number;
  creditOn?: 'source' | 'destination';
  /** Two-step: the debit alone (the transfer saga credits the destination). */
  debitOnly?: boolean;
}

export interface FreezeAccount extends SeedCommand {
  accountId: ObjectId;
  reason: string;
  expectedDuration?: string;
  complianceReference?: string;
}

export interface SeedCommandSide {
  createAccount(c: CreateAccount): Promise<void>;
  transferFunds(c: TransferFunds): Promise<void>;
  freezeAccount(c: FreezeAccount): Promise<void>;
}

/** calculateRegulatoryFlags, as the article has it (TransferFunds only). */
export function regulatoryFlags(amount: number, currency: string | undefined): string[] {
  const flags: string[] = [];
  if (amount >= 10000) flags.push('large_transaction');
  if (currency !== 'USD') flags.push('foreign_currency');
  return flags;
}

export interface SeedCommandSideOptions {
  ids: IdMode;
  /** Store each command in a transaction, as the article does (a real replica set only). */
  transactions?: boolean;
}

export function seedCommandSide(db: Db, o: SeedCommandSideOptions): SeedCommandSide {
  const mode = o.ids;
  const id = (v: ObjectId | undefined) =>
    v === undefined || mode === 'objectId' ? v : v.toHexString();
  // Like the article's client (driver defaults): undefined stored as null. The string run
  // leaves such fields out instead, so both stored shapes are covered.
  const ignoreUndefined = mode === 'string';

  function metadata(c: SeedCommand, extra: Document = {}): Document {
    return {
      sourceIp: c.metadata?.sourceIp,
      userAgent: c.metadata?.userAgent,
      correlationId: id(c.correlationId),
      causationId: id(c.causationId),
      ...extra,
    };
  }

  function envelope(c: SeedCommand, n: number, aggregateId: ObjectId, eventType: string, at: Date) {
    const eventId = c.ids.events[n];
    if (!eventId) throw new Error(`command ${c.ids.command.toHexString()} needs event id ${n}`);
    return {
      eventId: id(eventId),
      aggregateId: id(aggregateId),
      aggregateType: 'BankAccount',
      eventType,
      eventVersion: '1.0',
      eventTimestamp: at,
      commandId: id(c.ids.command),
    };
  }

  /**
   * storeEvents: the command's aggregate (or, with `perStream`, each event's own) and the next
   * versions, in one insertMany. The article runs it in a transaction; where the server has none
   * (the fallback) a collision with a reaction appending to the same stream may leave part of
   * the command stored: like a client retrying the command, the events not stored yet are
   * inserted again (same ids) at the versions then free.
   */
  async function store(aggregateId: ObjectId, events: Document[], perStream = false) {
    const stored = id(aggregateId);
    for (let attempt = 0; attempt < 20; attempt++) {
      const done = new Set(
        (
          await eventStore(db)
            .find({ eventId: { $in: events.map((e) => e.eventId as unknown) } })
            .project({ eventId: 1 })
            .toArray()
        ).map((d) => String(d.eventId)),
      );
      const pending = events.filter((e) => !done.has(String(e.eventId)));
      if (pending.length === 0) return;
      const next = new Map<string, number>();
      const docs: Document[] = [];
      for (const e of pending) {
        const stream: unknown = perStream ? e.aggregateId : stored;
        const version = (next.get(String(stream)) ?? (await lastVersion(stream))) + 1;
        next.set(String(stream), version);
        docs.push({ ...e, aggregateId: stream, version, storedAt: new Date() });
      }
      try {
        if (o.transactions) {
          await db.client.withSession((session) =>
            session.withTransaction(() =>
              eventStore(db).insertMany(docs, { ignoreUndefined, session }),
            ),
          );
        } else await eventStore(db).insertMany(docs, { ignoreUndefined });
        return;
      } catch (e) {
        if (!isDuplicateKeyError(e)) throw e;
      }
    }
    throw new Error(`could not store a command on ${String(stored)}: the stream kept moving`);
  }

  async function lastVersion(aggregateId: unknown): Promise<number> {
    const last = await eventStore(db)
      .find({ aggregateId: { $eq: aggregateId } }, { projection: { version: 1 } })
      .sort({ version: -1 })
      .limit(1)
      .next();
    return typeof last?.version === 'number' ? last.version : 0;
  }

  return {
    async createAccount(c) {
      const at = new Date();
      await store(c.accountId, [
        {
          ...envelope(c, 0, c.accountId, 'AccountCreated', at),
          eventData: {
            accountNumber: c.accountNumber,
            accountHolder: c.accountHolder,
            accountType: c.accountType,
            initialBalance: c.initialBalance || 0,
            currency: c.currency || 'USD',
            createdBy: id(c.userId),
            createdAt: at,
          },
          eventMetadata: metadata(c),
        },
      ]);
    },
    async transferFunds(c) {
      const at = new Date();
      const transferId = id(c.ids.transfer ?? new ObjectId());
      const flags = regulatoryFlags(c.amount, c.currency);
      const common = {
        transferId,
        amount: c.amount,
        currency: c.currency || 'USD',
        reference: c.reference,
        description: c.description,
      };
      const debit = {
        ...envelope(c, 0, c.from, 'FundsDebited', at),
        eventData: {
          ...common,
          toAccountId: id(c.to),
          debitedBy: id(c.userId),
          debitedAt: at,
          transferType: 'outbound',
          feeAmount: c.feeAmount || 0,
          exchangeRate: c.exchangeRate || 1.0,
        },
        eventMetadata: metadata(c, { regulatoryFlags: flags }),
      };
      const credit = {
        ...envelope(c, 1, c.to, 'FundsCredited', at),
        eventData: {
          ...common,
          fromAccountId: id(c.from),
          creditedBy: id(c.userId),
          creditedAt: at,
          transferType: 'inbound',
          feeAmount: 0,
          exchangeRate: c.exchangeRate || 1.0,
        },
        eventMetadata: metadata(c, { regulatoryFlags: flags }),
      };
      if (c.debitOnly) return store(c.from, [debit]);
      await store(c.from, [debit, credit], c.creditOn === 'destination');
    },
    async freezeAccount(c) {
      const at = new Date();
      await store(c.accountId, [
        {
          ...envelope(c, 0, c.accountId, 'AccountFrozen', at),
          eventData: {
            reason: c.reason,
            frozenBy: id(c.userId),
            frozenAt: at,
            expectedDuration: c.expectedDuration,
            complianceReference: c.complianceReference,
          },
          eventMetadata: metadata(c, { securityLevel: 'high' }),
        },
      ]);
    },
  };
}
