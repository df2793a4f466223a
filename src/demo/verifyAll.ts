import type { Db } from 'mongodb';
import { checkBankReactions } from '../../projections/lib/reactionChecks.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { loadConfiguredModules } from '../replay/operatorDb.js';
import { selectProjections } from '../replay/select.js';
import { verifyModule } from '../replay/verify.js';
import { formatDifferences, formatSummary } from '../replay/verifyReport.js';

/**
 * The demo's last step, run with the daemon stopped so nothing moves underneath: what
 * `projectord verify` does for every projection, then, for every bank reaction (never re-run,
 * invariant 9), the checks of projections/lib/reactionChecks.ts on event_store and its own
 * collections (nothing appended twice, every transfer ended, one audit entry per money event).
 * One call, so the demo does not care how verify works inside.
 */
export interface VerifyAllResult {
  /** True when every projection matches event_store and every reaction check passed. */
  ok: boolean;
  /** The report for a person: the first differences, then one summary line per module. */
  lines: string[];
  mismatched: string[];
}

export interface VerifyAllOptions {
  db: Db;
  config: Config;
  logger: Logger;
  signal: AbortSignal;
  /** Differences listed per projection (all are counted). */
  limit?: number;
}

export async function verifyAllProjections(o: VerifyAllOptions): Promise<VerifyAllResult> {
  const { modules, upcasters } = await loadConfiguredModules(o.config);
  const lines: string[] = [];
  const mismatched: string[] = [];
  for (const module of selectProjections(modules, undefined, 'demo')) {
    const verdict = await verifyModule({
      db: o.db,
      module,
      upcasters,
      config: o.config,
      logger: o.logger,
      signal: o.signal,
      limit: o.limit ?? 5,
    });
    lines.push(...formatDifferences(verdict), `  ${formatSummary(verdict)}`);
    if (verdict.status !== 'match') mismatched.push(module.name);
  }
  const reactions = modules.filter((m) => m.kind === 'reaction').map((m) => m.name);
  for (const check of await checkBankReactions(o.db, reactions)) {
    const shown = check.findings.slice(0, o.limit ?? 5);
    lines.push(
      ...shown.map((f) => `    ${check.module}: ${f}`),
      `  ${check.module}: ${check.ok ? 'checked' : 'FAILED'}, not re-run: ${check.summary}`,
    );
    if (!check.ok) mismatched.push(check.module);
  }
  return { ok: mismatched.length === 0, lines, mismatched };
}
