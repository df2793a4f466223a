import type { DemoSnapshot } from './snapshot.js';

/**
 * When the demo may stop the daemon and verify: every module has caught up with event_store
 * and nothing more is about to be appended. Judged on two consecutive snapshots, because
 * reactions append events of their own (saga credits, reversals, detections) after the
 * simulator has finished:
 *  - every module is live with nothing pending;
 *  - every module's saved checkpoint covers the newest event in event_store;
 *  - no saga deadline falls due within the horizon (a credit still to be issued);
 *  - event_store did not grow since the previous snapshot.
 * Returns what is still awaited, for the display and for the timeout message.
 */
export type SettleVerdict = { settled: true } | { settled: false; waitingFor: string };

export function judgeSettled(
  current: DemoSnapshot,
  previous: DemoSnapshot | undefined,
  expectedModules: number,
): SettleVerdict {
  const waiting = (waitingFor: string): SettleVerdict => ({ settled: false, waitingFor });
  if (current.modules.length < expectedModules) {
    return waiting(`modules to start (${current.modules.length} of ${expectedModules} running)`);
  }
  const busy = current.modules.filter((m) => m.mode !== 'live' || m.pending > 0);
  if (busy.length > 0) return waiting(`${names(busy)} to finish pending work`);
  const newest = current.newestEventAt;
  if (newest !== null) {
    const behind = current.modules.filter(
      (m) => m.checkpointEventAt === null || m.checkpointEventAt.getTime() < newest.getTime(),
    );
    if (behind.length > 0) return waiting(`${names(behind)} to checkpoint the newest event`);
  }
  if (current.dueDeadlines > 0) {
    return waiting(`${current.dueDeadlines} saga deadline(s) falling due`);
  }
  if (previous === undefined || previous.events !== current.events) {
    return waiting('event_store to stop growing');
  }
  return { settled: true };
}

function names(rows: readonly { module: string }[]): string {
  const shown = rows.slice(0, 3).map((r) => r.module);
  return rows.length > 3 ? `${shown.join(', ')} and ${rows.length - 3} more` : shown.join(', ');
}
