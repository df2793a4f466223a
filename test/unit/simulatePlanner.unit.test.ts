import { ObjectId } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { createAccountBook } from '../../src/simulate/accountBook.js';
import {
  maxEventsOf,
  SCENARIOS,
  type Command,
  type TransferCommand,
} from '../../src/simulate/commands.js';
import { fundsCredited, fundsDebited } from '../../src/simulate/events.js';
import { createPlanner } from '../../src/simulate/planner.js';
import { createRandom } from '../../src/simulate/random.js';
import { ORDINARY_DEBIT_CAP } from '../../src/simulate/selection.js';

/**
 * The planner against an in-memory bank that applies each command the way the writer would
 * (through the real event builders) and records any command the model should never have made.
 */
/** A fixed business time: every debit of a run falls in the same 24 hours (the worst case). */
const NOW = 1_700_000_000_000;

function localBank(seed: number, initialAccounts = 10) {
  const book = createAccountBook();
  const planner = createPlanner({
    rng: createRandom(seed),
    book,
    initialAccounts,
    accountPrefix: 'acct',
    legacyShare: 0.05,
  });
  const violations: string[] = [];
  const debits: { cmd: TransferCommand; data: Record<string, unknown>; version: string }[] = [];
  const apply = (id: string, eventType: string, eventData: Record<string, unknown>) => {
    const acc = book.get(id);
    if (acc)
      book.fold(id, {
        version: acc.knownVersion + 1,
        eventType,
        eventTimestamp: new Date(NOW),
        eventData,
      });
  };
  const issued = () => ({ commandId: new ObjectId(), at: new Date(NOW) });

  function execute(cmd: Command): number {
    if (cmd.kind === 'open-account') {
      book.add(cmd.accountId, cmd.customerIps);
      apply(cmd.accountId, 'AccountCreated', { initialBalance: cmd.initialBalanceCents / 100 });
      return 1;
    }
    if (cmd.kind === 'freeze') {
      if (book.get(cmd.accountId)?.frozen !== false) violations.push(`freeze ${cmd.accountId}`);
      apply(cmd.accountId, 'AccountFrozen', {});
      return 1;
    }
    const from = book.get(cmd.from);
    if (!from || from.frozen || from.balanceCents < cmd.amountCents + cmd.feeCents) {
      violations.push(`${cmd.scenario} from ${cmd.from}: ${JSON.stringify(from)}`);
      return 0;
    }
    const debit = fundsDebited(cmd, 'tx', issued());
    debits.push({ cmd, data: debit.eventData, version: debit.eventVersion ?? '' });
    apply(cmd.from, 'FundsDebited', debit.eventData);
    if (!cmd.withCredit) return 1;
    apply(cmd.to, 'FundsCredited', fundsCredited(cmd, 'tx', issued()).eventData);
    return 2;
  }

  /** Plans and applies `n` commands at a fixed business time (the worst case for windows). */
  function runCommands(n: number, budget = Infinity): Command[] {
    const out: Command[] = [];
    for (let i = 0; i < n; i++) {
      const cmd = planner.next(budget, NOW);
      execute(cmd);
      out.push(cmd);
    }
    return out;
  }
  return { book, planner, violations, debits, execute, runCommands };
}

const transfers = (cmds: Command[]) =>
  cmds.filter((c): c is TransferCommand => c.kind === 'transfer');

describe('simulation planner', () => {
  it.each([1, 2, 3])('produces every scenario kind (seed %i)', (seed) => {
    const bank = localBank(seed);
    const kinds = new Set(bank.runCommands(3000).map((c) => c.scenario));
    expect([...kinds].sort()).toEqual([...SCENARIOS].sort());
    expect(bank.debits.some((d) => d.cmd.legacy)).toBe(true);
  });

  it('opens the requested accounts first', () => {
    const cmds = localBank(5, 7).runCommands(8);
    expect(cmds.slice(0, 7).map((c) => c.kind)).toEqual(new Array(7).fill('open-account'));
    expect(cmds.slice(0, 7).map((c) => (c.kind === 'open-account' ? c.accountId : ''))).toEqual([
      'acct-000001',
      'acct-000002',
      'acct-000003',
      'acct-000004',
      'acct-000005',
      'acct-000006',
      'acct-000007',
    ]);
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const a = localBank(99).runCommands(1500);
    const b = localBank(99).runCommands(1500);
    const c = localBank(100).runCommands(1500);
    expect(a).toEqual(b);
    expect(transfers(a).map((t) => t.amountCents)).not.toEqual(
      transfers(c).map((t) => t.amountCents),
    );
  });

  it.each([7, 8])(
    'never plans a debit from a frozen account or beyond the balance (seed %i)',
    (seed) => {
      const bank = localBank(seed, 4);
      bank.runCommands(4000);
      expect(bank.violations).toEqual([]);
      expect(bank.book.all().every((acc) => acc.balanceCents >= 0)).toBe(true);
      expect(bank.book.all().some((acc) => acc.frozen)).toBe(true);
    },
  );

  it('plans amounts that match their scenario', () => {
    const cmds = transfers(localBank(21).runCommands(4000));
    const of = (s: string) => cmds.filter((c) => c.scenario === s);
    expect(of('large').every((c) => c.amountCents >= 1_000_000)).toBe(true);
    for (const s of ['one-step', 'two-step', 'to-unknown', 'to-frozen', 'foreign', 'velocity']) {
      expect(of(s).length).toBeGreaterThan(0);
      // Never in the structuring window 9,000-10,000, never large.
      expect(of(s).every((c) => c.amountCents >= 100 && c.amountCents < 900_000)).toBe(true);
    }
    expect(
      of('structuring').every((c) => c.amountCents >= 900_000 && c.amountCents < 1_000_000),
    ).toBe(true);
    expect(of('foreign').every((c) => c.currency !== 'USD' && c.exchangeRate !== 1)).toBe(true);
    const created = new Set(
      localBank(21)
        .runCommands(4000)
        .flatMap((c) => (c.kind === 'open-account' ? [c.accountId] : [])),
    );
    expect(
      of('to-unknown').every((c) => !created.has(c.to) && c.to.startsWith('acct-missing-')),
    ).toBe(true);
    expect(of('to-unknown').every((c) => !c.withCredit)).toBe(true);
    expect(of('to-frozen').every((c) => !c.withCredit)).toBe(true);
  });

  it('plans bursts as consecutive debits from one account: structuring 3-4, velocity 21-25', () => {
    const cmds = localBank(4).runCommands(5000);
    const bursts: TransferCommand[][] = [];
    for (const [i, c] of cmds.entries()) {
      if (c.kind !== 'transfer' || !c.burst) continue;
      if (c.burst.index === 1) bursts.push([]);
      expect(cmds[i - c.burst.index + 1]).toMatchObject({ burst: { index: 1 }, from: c.from });
      bursts[bursts.length - 1]!.push(c);
    }
    const last = bursts[bursts.length - 1];
    // A burst cut off by the end of the window is not judged.
    if (last && last.length < last[0]!.burst!.size) bursts.pop();
    const of = (s: string) => bursts.filter((b) => b[0]!.scenario === s);
    expect(of('structuring').length).toBeGreaterThan(0);
    expect(of('velocity').length).toBeGreaterThan(0);
    expect(of('structuring').length + of('velocity').length).toBe(bursts.length);
    for (const b of bursts) {
      expect(b.map((c) => c.burst!.index)).toEqual(b.map((_, k) => k + 1));
      expect(new Set(b.map((c) => `${c.scenario} ${c.from} ${c.burst!.size}`)).size).toBe(1);
      expect(b.every((c) => !c.withCredit)).toBe(true);
    }
    expect(of('structuring').every((b) => b.length >= 3 && b.length <= 4)).toBe(true);
    expect(of('velocity').every((b) => b.length >= 21 && b.length <= 25)).toBe(true);
  });

  it('keeps ordinary traffic under the velocity limit: only velocity sources exceed it', () => {
    const bank = localBank(12, 6);
    const cmds = transfers(bank.runCommands(3000));
    const velocitySources = new Set(
      cmds.filter((c) => c.scenario === 'velocity').map((c) => c.from),
    );
    const perAccount = new Map<string, number>();
    for (const c of cmds) perAccount.set(c.from, (perAccount.get(c.from) ?? 0) + 1);
    for (const [id, n] of perAccount) {
      if (!velocitySources.has(id)) expect(n, id).toBeLessThanOrEqual(ORDINARY_DEBIT_CAP);
    }
    // The bank grew to carry the traffic instead of overusing its first accounts.
    expect(bank.book.all().length).toBeGreaterThan(6);
  });

  it('writes about 5% of USD debits as "1.0", without fee or exchange rate', () => {
    const bank = localBank(31);
    bank.runCommands(5000);
    const usd = bank.debits.filter((d) => d.cmd.currency === 'USD');
    const legacy = usd.filter((d) => d.version === '1.0');
    expect(legacy.length / usd.length).toBeGreaterThan(0.02);
    expect(legacy.length / usd.length).toBeLessThan(0.09);
    for (const d of legacy) {
      expect(d.data).not.toHaveProperty('feeAmount');
      expect(d.data).not.toHaveProperty('exchangeRate');
      expect(d.cmd.feeCents).toBe(0);
    }
    for (const d of bank.debits.filter((x) => x.version !== '1.0')) {
      expect(d.version).toBe('2.0');
      expect(d.data).toMatchObject({
        feeAmount: d.cmd.feeCents / 100,
        exchangeRate: d.cmd.exchangeRate,
      });
    }
  });

  it('never plans more events than the budget, so a count is met exactly', () => {
    const bank = localBank(17, 5);
    let remaining = 777;
    while (remaining > 0) {
      const cmd = bank.planner.next(remaining, NOW);
      expect(maxEventsOf(cmd)).toBeLessThanOrEqual(remaining);
      remaining -= bank.execute(cmd);
    }
    expect(remaining).toBe(0);
    for (let i = 0; i < 200; i++) {
      const cmd = bank.planner.next(1, NOW);
      expect(maxEventsOf(cmd)).toBe(1);
      bank.execute(cmd);
    }
    expect(() => bank.planner.next(0, 0)).toThrow(RangeError);
  });
});
