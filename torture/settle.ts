import type { Db } from 'mongodb';
import { checkAll, type Verdict } from './checks.js';
import type { Instance } from './instances.js';
import type { PoisonEvent } from './poison.js';
import { readStoreFacts, type StoreFacts } from './storeFacts.js';

/**
 * After the faults stop, the instances get until `timeoutMs` to bring every read model and saga
 * to what event_store says: the checks are polled (every `intervalMs`: each poll scans the store)
 * until all pass or time runs out; the last verdicts are the result either way. An instance that
 * exited on its own is restarted (its crash is already recorded) so a crash shows as a failed
 * run, not as a hang.
 */
export interface Settled {
  verdicts: Verdict[];
  facts: StoreFacts;
  settleMs: number;
}

export async function settle(o: {
  db: Db;
  instances: readonly Instance[];
  poison: readonly PoisonEvent[];
  depositsCents: number;
  timeoutMs: number;
  intervalMs: number;
  log: (line: string) => void;
}): Promise<Settled> {
  const started = Date.now();
  const poisonIds = new Set(o.poison.map((p) => p.eventId));
  let lastLog = 0;
  for (;;) {
    for (const i of o.instances) if (!i.running) i.start();
    const facts = await readStoreFacts(o.db, poisonIds);
    const verdicts = await checkAll(o.db, facts, o.poison, o.depositsCents);
    const elapsed = Date.now() - started;
    if (verdicts.every((v) => v.ok) || elapsed > o.timeoutMs) {
      return { verdicts, facts, settleMs: elapsed };
    }
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      const waiting = verdicts.filter((v) => !v.ok).map((v) => `${v.name}: ${v.detail}`);
      o.log(`settling (${Math.round(elapsed / 1000)} s): ${waiting.join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, o.intervalMs));
  }
}
