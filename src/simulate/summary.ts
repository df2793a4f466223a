import { SCENARIOS, type Command, type Scenario } from './commands.js';
import type { Outcome, Refusal } from './writer.js';

/**
 * What a simulation wrote, for the CLI's one-line report and for tests and benchmarks that
 * check the read models against it (money: `initialDeposits` is what the accounts this run
 * opened started with; transfers only move it, minus `fees`).
 */
export const SIMULATED_TYPES = [
  'AccountCreated',
  'FundsDebited',
  'FundsCredited',
  'AccountFrozen',
] as const;
export type SimulatedType = (typeof SIMULATED_TYPES)[number];

export interface SimulationSummary {
  seed: number;
  /** Events appended by this run. */
  events: number;
  byType: Record<SimulatedType, number>;
  /** Commands that wrote at least one event, per scenario (a burst counts each debit). */
  scenarios: Record<Scenario, number>;
  /** FundsDebited written with the old "1.0" schema. */
  legacyDebits: number;
  accountsCreated: number;
  /** Accounts another writer had created first (folded from the store, not written). */
  accountsAdopted: number;
  /** Sum of initialBalance of the accounts this run created, in currency units. */
  initialDeposits: number;
  /** Sums over this run's events, in currency units. */
  debited: number;
  credited: number;
  fees: number;
  /** Optimistic-concurrency conflicts met and retried. */
  conflicts: number;
  /** Commands refused at write time after reading the account's stream tail. */
  refused: Record<Refusal, number>;
  /** Accounts that sent a structuring or a velocity burst: what compliance should flag. */
  structuringAccounts: string[];
  velocityAccounts: string[];
  durationMs: number;
  stoppedBy: 'count' | 'signal';
}

export interface Tally {
  record(cmd: Command, outcome: Outcome): void;
  summary(extra: {
    durationMs: number;
    stoppedBy: SimulationSummary['stoppedBy'];
  }): SimulationSummary;
}

const zeros = <K extends string>(keys: readonly K[]) =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

export function createTally(seed: number): Tally {
  const byType = zeros(SIMULATED_TYPES);
  const scenarios = zeros(SCENARIOS);
  const refused = zeros<Refusal>(['frozen', 'insufficient-funds', 'unknown-account', 'contended']);
  const structuring = new Set<string>();
  const velocity = new Set<string>();
  // Money in cents, so the sums are exact.
  const cents = { initial: 0, debited: 0, credited: 0, fees: 0 };
  let events = 0;
  let legacyDebits = 0;
  let conflicts = 0;
  let adopted = 0;

  return {
    record(cmd, outcome) {
      conflicts += outcome.conflicts;
      if (outcome.adopted) adopted += 1;
      if (outcome.refused) refused[outcome.refused] += 1;
      if (outcome.written.length === 0) return;
      scenarios[cmd.scenario] += 1;
      for (const ev of outcome.written) {
        events += 1;
        if (ev.eventType in byType) byType[ev.eventType as SimulatedType] += 1;
        if (ev.eventType === 'FundsDebited' && ev.eventVersion === '1.0') legacyDebits += 1;
      }
      if (cmd.kind === 'open-account') cents.initial += cmd.initialBalanceCents;
      if (cmd.kind !== 'transfer') return;
      cents.debited += cmd.amountCents;
      cents.fees += cmd.feeCents;
      if (outcome.written.length > 1) cents.credited += cmd.amountCents;
      if (cmd.scenario === 'structuring') structuring.add(cmd.from);
      if (cmd.scenario === 'velocity') velocity.add(cmd.from);
    },
    summary: ({ durationMs, stoppedBy }) => ({
      seed,
      events,
      byType: { ...byType },
      scenarios: { ...scenarios },
      legacyDebits,
      accountsCreated: byType.AccountCreated,
      accountsAdopted: adopted,
      initialDeposits: cents.initial / 100,
      debited: cents.debited / 100,
      credited: cents.credited / 100,
      fees: cents.fees / 100,
      conflicts,
      refused: { ...refused },
      structuringAccounts: [...structuring],
      velocityAccounts: [...velocity],
      durationMs,
      stoppedBy,
    }),
  };
}

/** The CLI's one line: counts by type, then what a reader checks next. */
export function formatSummary(s: SimulationSummary): string {
  const seconds = s.durationMs / 1000;
  const rate = seconds > 0 ? Math.round(s.events / seconds) : s.events;
  const types = SIMULATED_TYPES.map((t) => `${t} ${s.byType[t]}`).join(', ');
  const refused = Object.values(s.refused).reduce((a, b) => a + b, 0);
  return (
    `simulated ${s.events} events in ${seconds.toFixed(1)} s (${rate}/s, seed ${s.seed}): ${types}; ` +
    `${s.legacyDebits} legacy debits, ${s.conflicts} concurrency conflicts retried, ` +
    `${refused} commands refused, ${s.accountsAdopted} accounts adopted, ` +
    `initial deposits ${s.initialDeposits.toFixed(2)}`
  );
}
