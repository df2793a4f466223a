import { ObjectId } from 'mongodb';
import { storedEventDocument, type AppendInput } from '../../src/events/eventStore.js';
import type { RawEventDocument } from '../../src/events/types.js';
import { createAccountBook, type AccountBook } from '../../src/simulate/accountBook.js';
import type { Command } from '../../src/simulate/commands.js';
import {
  accountCreated,
  accountFrozen,
  fundsCredited,
  fundsDebited,
  type Issued,
  type SimulatedEvent,
} from '../../src/simulate/events.js';
import { createPlanner } from '../../src/simulate/planner.js';
import { createRandom } from '../../src/simulate/random.js';

/**
 * The `projectord simulate` workload built in memory: the simulator's own planner, account
 * model and event builders (src/simulate), with the command writer's rules applied without a
 * store — a debit is refused from a frozen account or one without the money, opening an
 * existing account writes nothing — and versions numbered per aggregate. The business clock
 * moves `stepMs` per command (10 ms: simulate's default 100 commands/s).
 */
export interface BankWorkload {
  events: RawEventDocument[];
  accounts: number;
  byType: Record<string, number>;
}

export interface BankWorkloadOptions {
  events: number;
  accounts: number;
  seed: number;
  stepMs?: number;
  start?: Date;
}

function toRaw(input: AppendInput, version: number, at: Date): RawEventDocument {
  return storedEventDocument(input, version, at);
}

function inputsFor(cmd: Command, book: AccountBook, issued: Issued): SimulatedEvent[] {
  switch (cmd.kind) {
    case 'open-account': {
      const acc = book.add(cmd.accountId, cmd.customerIps);
      return acc.knownVersion > 0 ? [] : [accountCreated(cmd, issued)];
    }
    case 'transfer': {
      const from = book.get(cmd.from);
      if (!from || from.frozen || from.balanceCents < cmd.amountCents + cmd.feeCents) return [];
      const transferId = new ObjectId().toHexString();
      const debit = fundsDebited(cmd, transferId, issued);
      return cmd.withCredit ? [debit, fundsCredited(cmd, transferId, issued)] : [debit];
    }
    case 'freeze': {
      const acc = book.get(cmd.accountId);
      return !acc || acc.frozen ? [] : [accountFrozen(cmd, issued)];
    }
  }
}

/**
 * The workload as a stream: events one at a time, nothing kept beyond the account model (the
 * simulator's own rate benchmark reads a million of them this way).
 */
export function* bankEventStream(
  o: BankWorkloadOptions,
  book: AccountBook = createAccountBook(),
): Generator<RawEventDocument> {
  const planner = createPlanner({
    rng: createRandom(o.seed),
    book,
    initialAccounts: o.accounts,
    accountPrefix: 'acct',
    legacyShare: 0.05,
  });
  const versions = new Map<string, number>();
  let nowMs = (o.start ?? new Date('2025-03-03T08:00:00Z')).getTime();
  let produced = 0;
  while (produced < o.events) {
    nowMs += o.stepMs ?? 10;
    const cmd = planner.next(o.events - produced, nowMs);
    const issued: Issued = { commandId: new ObjectId(), at: new Date(nowMs) };
    for (const input of inputsFor(cmd, book, issued)) {
      const version = (versions.get(input.aggregateId) ?? 0) + 1;
      versions.set(input.aggregateId, version);
      book.fold(input.aggregateId, {
        version,
        eventType: input.eventType,
        eventTimestamp: input.eventTimestamp,
        eventData: input.eventData,
      });
      produced++;
      yield toRaw(input, version, issued.at);
    }
  }
}

export function buildBankEvents(o: BankWorkloadOptions): BankWorkload {
  const book = createAccountBook();
  const events: RawEventDocument[] = [];
  const byType: Record<string, number> = {};
  for (const event of bankEventStream(o, book)) {
    events.push(event);
    const type = String(event.eventType);
    byType[type] = (byType[type] ?? 0) + 1;
  }
  return { events, accounts: book.all().length, byType };
}
