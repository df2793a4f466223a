import type { Db } from 'mongodb';
import type { Config } from '../config/schema.js';
import type { Logger } from '../observability/logger.js';
import { loadConfiguredModules } from '../replay/operatorDb.js';
import { selectProjections } from '../replay/select.js';
import { verifyModule } from '../replay/verify.js';
import { formatDifferences, formatSummary } from '../replay/verifyReport.js';

/**
 * The demo's last step: what `projectord verify` does for every projection (reactions are never
 * re-run, invariant 9), run with the daemon stopped so nothing moves underneath. One call, so
 * the demo does not care how verify works inside.
 */
export interface VerifyAllResult {
  /** True when every projection matches what event_store recomputes to. */
  ok: boolean;
  /** The report for a person: the first differences, then one summary line per projection. */
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
  return { ok: mismatched.length === 0, lines, mismatched };
}
