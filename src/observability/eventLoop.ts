import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * The worst event-loop delay seen recently, for `/healthz`. A fully blocked loop cannot answer
 * at all (the probe times out); this catches the loop that answers but was blocked for long
 * stretches in between. The window rotates every `windowMs`: the reported maximum covers the
 * current window and the previous one, so a block is visible for at least one whole window and
 * forgotten after two.
 */
export interface EventLoopMonitor {
  /** Largest delay in ms over the current and previous window. */
  maxDelayMs(): number;
  /** Delay samples in the current window (the first timer tick after start only sets a base). */
  samples(): number;
  /** Idempotent. */
  stop(): void;
}

export function createEventLoopMonitor(
  opts: { windowMs?: number; resolutionMs?: number } = {},
): EventLoopMonitor {
  const histogram = monitorEventLoopDelay({ resolution: opts.resolutionMs ?? 10 });
  histogram.enable();
  let previousMaxMs = 0;
  const rotate = setInterval(() => {
    previousMaxMs = histogram.max / 1e6;
    histogram.reset();
  }, opts.windowMs ?? 10_000);
  // Observability must never keep a stopping daemon alive.
  rotate.unref();
  let stopped = false;
  return {
    maxDelayMs: () => Math.max(previousMaxMs, histogram.count > 0 ? histogram.max / 1e6 : 0),
    samples: () => histogram.count,
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(rotate);
      histogram.disable();
    },
  };
}
