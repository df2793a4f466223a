import type { SimulationSummary } from '../src/simulate/index.js';
import type { ChaosStats } from './chaos.js';
import type { Verdict } from './checks.js';
import type { StoreFacts } from './storeFacts.js';

/** The torture run's one summary line: the result, what was done, and each verdict in brief. */
export function summaryLine(s: {
  ok: boolean;
  seed: number;
  simulation: SimulationSummary;
  facts: StoreFacts;
  poison: number;
  stats: ChaosStats;
  verdicts: readonly Verdict[];
  wallMs: number;
  settleMs: number;
}): string {
  const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const checks = s.verdicts
    .map((v) => `${v.name} ${v.ok ? 'ok' : (v.waived?.toUpperCase() ?? 'FAILED')}`)
    .join(', ');
  const t = s.facts.byType;
  return (
    `torture ${s.ok ? 'PASSED' : 'FAILED'} (seed ${s.seed}, wall ${sec(s.wallMs)}, settle ${sec(s.settleMs)}): ` +
    `${s.simulation.events} simulated events (${s.simulation.legacyDebits} legacy debits) + ${s.poison} poison, ` +
    `${s.facts.events} good events in the store (debits ${t.FundsDebited ?? 0}, credits ${t.FundsCredited ?? 0}, ` +
    `reversals ${t.DebitReversed ?? 0}), ${s.facts.transferIds.size} transfers, ` +
    `${s.stats.kills} kills, ${s.stats.cuts} cuts; ${checks}`
  );
}
