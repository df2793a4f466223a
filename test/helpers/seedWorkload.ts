import { ObjectId } from 'mongodb';
import { createRandom, type Random } from '../../src/simulate/random.js';
import type {
  CreateAccount,
  FreezeAccount,
  SeedCommand,
  SeedCommandSide,
  TransferFunds,
} from './seedCommandSide.js';

/**
 * A seeded plan of commands for the seed's command side (seedCommandSide.ts): accounts with
 * ObjectId ids, one-step transfers whose credit the command side writes with the debit (in the
 * source's stream as the article's storeEvents does, or in the destination's), two-step
 * transfers the transfer saga credits, large (flagged `large_transaction`) and foreign
 * (`foreign_currency`) payments, fees, freezes, and one account structuring its debits just
 * under the large threshold (a compliance detection the fraud saga follows). Every id is drawn
 * from the seed, so the same plan can be written once with ObjectIds and once with strings.
 *
 * The plan is valid by construction, as the article's validateCommand would have it: no debit
 * beyond the balance the command side can see, none from or to a frozen account; few enough
 * debits per account that no velocity rule fires and no account reaches the fraud freeze.
 */
export type PlannedCommand =
  | { kind: 'open'; command: CreateAccount }
  | { kind: 'transfer'; command: TransferFunds }
  | { kind: 'freeze'; command: FreezeAccount };

export interface SeedPlan {
  commands: PlannedCommand[];
  accounts: ObjectId[];
  initialDeposits: number;
}

interface Book {
  id: ObjectId;
  /** What the command side can spend: deposits, debits and the credits it wrote itself. */
  spendable: number;
  debits: number;
  frozen: boolean;
}

const IPS = ['198.51.100.7', '198.51.100.8', '203.0.113.20'];

function objectId(rng: Random): ObjectId {
  const bytes = Buffer.alloc(12);
  for (let i = 0; i < 12; i++) bytes[i] = rng.int(0, 255);
  return new ObjectId(bytes);
}

function commandIds(rng: Random, events: number, transfer = false): SeedCommand {
  const c: SeedCommand = {
    ids: {
      command: objectId(rng),
      events: Array.from({ length: events }, () => objectId(rng)),
      ...(transfer ? { transfer: objectId(rng) } : {}),
    },
  };
  // Each optional field is drawn whether or not it is used: the plan depends only on the seed.
  const userId = objectId(rng);
  const correlationId = objectId(rng);
  const causationId = objectId(rng);
  if (rng.chance(0.8)) c.userId = userId;
  if (rng.chance(0.5)) c.correlationId = correlationId;
  if (rng.chance(0.3)) c.causationId = causationId;
  const ip = rng.pick(IPS);
  const withIp = rng.chance(0.7);
  const withAgent = rng.chance(0.5);
  if (withIp || withAgent) {
    c.metadata = {
      ...(withIp ? { sourceIp: ip } : {}),
      ...(withAgent ? { userAgent: 'bank-web/3.1' } : {}),
    };
  }
  return c;
}

const money = (rng: Random, min: number, max: number) => rng.int(min * 100, max * 100) / 100;

function transfer(
  rng: Random,
  from: Book,
  to: Book,
  toBeFrozen: boolean,
): TransferFunds | undefined {
  const shape = rng.weighted({ large: 10, foreign: 8, everyday: 82 });
  const amount = shape === 'large' ? money(rng, 10_000, 12_000) : money(rng, 5, 2_500);
  const fee = rng.chance(0.3) ? 1.5 : 0;
  const drawn = rng.weighted({ source: 50, destination: 25, twoStep: 25 });
  // The saga credits a two-step transfer later: to an account frozen meanwhile it would be
  // reversed instead (rightly; bankTransfers.int.test.ts covers that), not Completed.
  const kind = drawn === 'twoStep' && toBeFrozen ? 'destination' : drawn;
  const described = rng.chance(0.7);
  const base = commandIds(rng, 2, true);
  if (from.spendable < amount + fee) return undefined;
  return {
    ...base,
    from: from.id,
    to: to.id,
    amount,
    ...(shape === 'foreign' ? { currency: 'EUR', exchangeRate: 1.1 } : {}),
    ...(fee > 0 ? { feeAmount: fee } : {}),
    ...(described ? { reference: `INV-${rng.int(1000, 9999)}`, description: 'invoice' } : {}),
    ...(kind === 'twoStep' ? { debitOnly: true } : { creditOn: kind }),
  };
}

/** Books the transfer as the command side sees it afterwards. */
function book(t: TransferFunds, from: Book, to: Book): void {
  from.spendable -= t.amount + (t.feeAmount ?? 0);
  from.debits++;
  // The article's one-step credit lands in the source's own stream; the saga's credit of a
  // two-step transfer comes later, so it is not counted as spendable.
  if (t.creditOn === 'source') from.spendable += t.amount;
  if (t.creditOn === 'destination') to.spendable += t.amount;
}

export function seedPlan(seed: number, o: { accounts: number; transfers: number }): SeedPlan {
  const rng = createRandom(seed);
  const commands: PlannedCommand[] = [];
  const books: Book[] = [];
  let initialDeposits = 0;
  for (let i = 0; i < o.accounts + 2; i++) {
    const initialBalance = i < o.accounts ? rng.int(20_000, 60_000) : 40_000;
    const command: CreateAccount = {
      ...commandIds(rng, 1),
      accountId: objectId(rng),
      accountNumber: `ACC-${seed}-${i}`,
      accountHolder: `Holder ${i}`,
      accountType: rng.pick(['checking', 'savings', 'business']),
      initialBalance,
    };
    books.push({ id: command.accountId, spendable: initialBalance, debits: 0, frozen: false });
    initialDeposits += initialBalance;
    commands.push({ kind: 'open', command });
  }
  const regular = books.slice(0, o.accounts);
  const [structurer, sink] = books.slice(o.accounts) as [Book, Book];
  const freezeAt = [Math.floor(o.transfers / 3), Math.floor((2 * o.transfers) / 3)];
  const victims = new Set(freezeAt.map((_, i) => regular[i]));
  for (let n = 0; n < o.transfers; n++) {
    const victim = regular[freezeAt.indexOf(n)];
    if (victim) {
      victim.frozen = true;
      const reason = 'customer request';
      commands.push({
        kind: 'freeze',
        command: { ...commandIds(rng, 1), accountId: victim.id, reason, expectedDuration: '30d' },
      });
    }
    const open = regular.filter((b) => !b.frozen && b.debits < 12);
    const from = rng.pick(open);
    const to = rng.pick(regular.filter((b) => b !== from && !b.frozen));
    const t = transfer(rng, from, to, victims.has(to));
    if (!t) continue;
    book(t, from, to);
    commands.push({ kind: 'transfer', command: t });
  }
  // One large and one foreign payment whatever the draws: both flags are always exercised.
  const active = regular.filter((b) => !b.frozen).sort((x, y) => y.spendable - x.spendable);
  const [rich, other] = active as [Book, Book];
  for (const extra of [
    { amount: 10_500, creditOn: 'source' as const },
    { amount: 300, currency: 'EUR', exchangeRate: 1.1, creditOn: 'destination' as const },
  ]) {
    const t: TransferFunds = { ...commandIds(rng, 2, true), from: rich.id, to: other.id, ...extra };
    book(t, rich, other);
    commands.push({ kind: 'transfer', command: t });
  }
  // Structuring: three debits within a day, each just under the large-transaction threshold.
  for (let n = 0; n < 3; n++) {
    const t: TransferFunds = {
      ...commandIds(rng, 2, true),
      from: structurer.id,
      to: sink.id,
      amount: 9_500,
      creditOn: 'destination',
    };
    book(t, structurer, sink);
    commands.push({ kind: 'transfer', command: t });
  }
  return { commands, accounts: books.map((b) => b.id), initialDeposits };
}

export async function execute(side: SeedCommandSide, c: PlannedCommand): Promise<void> {
  switch (c.kind) {
    case 'open':
      return side.createAccount(c.command);
    case 'transfer':
      return side.transferFunds(c.command);
    case 'freeze':
      return side.freezeAccount(c.command);
  }
}
