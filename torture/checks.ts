import type { Db, Document } from 'mongodb';
import { DEAD_LETTERS } from '../src/lanes/deadLetters.js';
import type { PoisonEvent } from './poison.js';
import { cents, type StoreFacts } from './storeFacts.js';

/**
 * The end-state checks of the torture run, each against what event_store says (StoreFacts).
 * Every check returns a verdict with the numbers behind it; none throws on a mismatch.
 *
 * Money (DOMAIN.md): a debit takes amount + fee, a credit gives amount, a reversal gives back
 * amount + fee. Once every transfer is Completed (credited) or Compensated (reversed), the
 * accounts hold exactly what they were opened with minus the fees the bank kept:
 *   Σ account_summary_view.currentBalance + Σ feeAmount(FundsDebited) − Σ feeAmount(DebitReversed)
 *     = Σ initialBalance(AccountCreated) = the simulator's initialDeposits.
 */
export interface Verdict {
  name: string;
  ok: boolean;
  detail: string;
  /**
   * Why a failed check does not fail the run: `pending` (the check's command does not exist
   * yet) or `blocked` (a known engine gap keeps it from judging; the detail says which).
   */
  waived?: 'pending' | 'blocked';
}

const TERMINAL = new Set(['Completed', 'Compensated']);

export async function checkSagas(db: Db, facts: StoreFacts): Promise<Verdict> {
  const states = await db
    .collection('transfer_saga_state')
    .aggregate<{ _id: string; n: number }>([{ $group: { _id: '$state', n: { $sum: 1 } } }])
    .toArray();
  const total = states.reduce((a, s) => a + s.n, 0);
  const open = states.filter((s) => !TERMINAL.has(s._id)).reduce((a, s) => a + s.n, 0);
  const shown = states.map((s) => `${s._id} ${s.n}`).join(', ');
  const stuck = open
    ? await db
        .collection<{ _id: string }>('transfer_saga_state')
        .find({ state: { $nin: [...TERMINAL] } }, { projection: { _id: 1 }, limit: 5 })
        .toArray()
    : [];
  return {
    name: 'sagas',
    ok: open === 0 && total === facts.transferIds.size,
    detail:
      `${total} of ${facts.transferIds.size} transfers (${shown || 'none'})` +
      (stuck.length ? `; open: ${stuck.map((d) => d._id).join(', ')}` : ''),
  };
}

export async function checkMoney(
  db: Db,
  facts: StoreFacts,
  depositsCents: number,
): Promise<Verdict> {
  const docs = await db
    .collection<{ _id: string; currentBalance?: unknown }>('account_summary_view')
    .find({}, { projection: { currentBalance: 1 } })
    .toArray();
  const balances = docs.reduce((a, d) => a + cents(d.currentBalance), 0);
  const held = balances + facts.feesCents;
  const unknown = docs.filter((d) => !facts.lastAccountVersion.has(d._id)).map((d) => d._id);
  const fmt = (c: number) => (c / 100).toFixed(2);
  return {
    name: 'money',
    ok: held === depositsCents && facts.depositsCents === depositsCents && unknown.length === 0,
    detail:
      `balances ${fmt(balances)} + fees ${fmt(facts.feesCents)} = ${fmt(held)} vs deposits ` +
      `${fmt(depositsCents)} (store ${fmt(facts.depositsCents)})` +
      (unknown.length ? `; views of unknown accounts: ${unknown.slice(0, 5).join(', ')}` : ''),
  };
}

export async function checkDeadLetters(db: Db, poison: readonly PoisonEvent[]): Promise<Verdict> {
  const docs = await db
    .collection<Document>(DEAD_LETTERS)
    .find({}, { projection: { eventId: 1, status: 1, module: 1 } })
    .toArray();
  const expected = new Set(poison.map((p) => p.eventId));
  const found = new Set(docs.map((d) => String(d.eventId)));
  const extra = [...found].filter((id) => !expected.has(id));
  const missing = [...expected].filter((id) => !found.has(id));
  const badStatus = docs.filter((d) => d.status !== 'invalid' && d.status !== 'parked');
  const byStatus = docs.reduce<Record<string, number>>((a, d) => {
    a[String(d.status)] = (a[String(d.status)] ?? 0) + 1;
    return a;
  }, {});
  const problems = [
    extra.length ? `not poison: ${extra.slice(0, 5).join(', ')}` : '',
    missing.length ? `poison missing: ${missing.slice(0, 5).join(', ')}` : '',
    badStatus.length
      ? `other statuses: ${badStatus
          .slice(0, 3)
          .map((d) => `${String(d.module)}/${String(d.status)}`)
          .join(', ')}`
      : '',
  ].filter(Boolean);
  return {
    name: 'dead-letters',
    ok: problems.length === 0,
    detail:
      `${docs.length} entries (${
        Object.entries(byStatus)
          .map(([s, n]) => `${s} ${n}`)
          .join(', ') || 'none'
      }) ` +
      `for ${found.size} of ${expected.size} poison events` +
      (problems.length ? `; ${problems.join('; ')}` : ''),
  };
}

export async function checkHistory(db: Db, facts: StoreFacts): Promise<Verdict> {
  const rows = await db
    .collection<{ _id: unknown }>('transaction_history_view')
    .find({}, { projection: { _id: 1 } })
    .toArray();
  const ids = new Set(rows.map((r) => String(r._id)));
  const missing = [...facts.moneyEventIds].filter((id) => !ids.has(id));
  return {
    name: 'history',
    ok: rows.length === facts.moneyEvents && missing.length === 0,
    detail:
      `${rows.length} rows for ${facts.moneyEvents} debits, credits and reversals` +
      (missing.length ? `; no row for ${missing.slice(0, 5).join(', ')}` : ''),
  };
}

export async function checkVersions(db: Db, facts: StoreFacts): Promise<Verdict> {
  const docs = await db
    .collection<{ _id: string; version?: unknown }>('account_summary_view')
    .find({}, { projection: { version: 1 } })
    .toArray();
  const stored = new Map(docs.map((d) => [d._id, d.version]));
  const wrong: string[] = [];
  for (const [id, last] of facts.lastAccountVersion) {
    const v = stored.get(id);
    if (v !== last) wrong.push(`${id} at ${String(v)}, store at ${last}`);
  }
  return {
    name: 'versions',
    ok: wrong.length === 0,
    detail:
      `${facts.lastAccountVersion.size - wrong.length} of ${facts.lastAccountVersion.size} accounts at their last version` +
      (wrong.length ? `; ${wrong.slice(0, 5).join('; ')}` : ''),
  };
}

export async function checkAll(
  db: Db,
  facts: StoreFacts,
  poison: readonly PoisonEvent[],
  depositsCents: number,
): Promise<Verdict[]> {
  return [
    await checkSagas(db, facts),
    await checkMoney(db, facts, depositsCents),
    await checkDeadLetters(db, poison),
    await checkHistory(db, facts),
    await checkVersions(db, facts),
  ];
}
