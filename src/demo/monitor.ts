import { setTimeout as delay } from 'node:timers/promises';
import type { DemoDisplay } from './display.js';
import type { DemoPhase, DemoView } from './render.js';
import type { DemoSnapshot } from './snapshot.js';

/**
 * The demo's poll loop: every `intervalMs` a snapshot, a picture, and a question to the phase
 * ("are we done?"). The interval paces what a person sees; nothing waits on it for
 * correctness — each phase ends on a condition read from the database or on its signal.
 */
export type Step = (
  current: DemoSnapshot,
  previous: DemoSnapshot | undefined,
) => { done: true } | { done: false; waitingFor?: string };

export interface Monitor {
  /**
   * Polls until `step` says done (returns the snapshot it judged) or the signal aborts
   * (returns undefined, with what was still awaited in `lastWaitingFor`).
   */
  run(phase: DemoPhase, step: Step, signal: AbortSignal): Promise<DemoSnapshot | undefined>;
  readonly lastWaitingFor: string | undefined;
}

export interface MonitorOptions {
  take(): Promise<DemoSnapshot>;
  display: DemoDisplay;
  /** Events the simulator has written so far, and of how many (when it has a count). */
  written(): number;
  target?: number | undefined;
  intervalMs: number;
}

export function createMonitor(o: MonitorOptions): Monitor {
  const started = performance.now();
  let previous: DemoSnapshot | undefined;
  let waitingFor: string | undefined;
  let rate = { at: started, written: 0, perSec: 0 };

  function view(phase: DemoPhase, snapshot: DemoSnapshot): DemoView {
    const at = performance.now();
    const written = o.written();
    if (at - rate.at >= 1000) {
      rate = { at, written, perSec: ((written - rate.written) * 1000) / (at - rate.at) };
    }
    return {
      phase,
      elapsedMs: at - started,
      written,
      ...(o.target === undefined ? {} : { target: o.target }),
      ratePerSec: rate.perSec,
      snapshot,
      ...(waitingFor === undefined ? {} : { waitingFor }),
    };
  }

  return {
    async run(phase, step, signal) {
      while (!signal.aborted) {
        const current = await o.take();
        const verdict = step(current, previous);
        waitingFor = verdict.done ? undefined : verdict.waitingFor;
        o.display.show(view(phase, current));
        previous = current;
        if (verdict.done) return current;
        await delay(o.intervalMs, undefined, { signal }).catch(() => undefined);
      }
      return undefined;
    },
    get lastWaitingFor() {
      return waitingFor;
    },
  };
}
