import { Presets, SingleBar } from 'cli-progress';

/**
 * Progress of a long scan (rebuild): a cli-progress bar with events/s and ETA when the output is
 * a terminal; otherwise plain lines, at most one per `intervalMs`, that read well in a log. The
 * total is an estimate (estimatedDocumentCount of event_store; events keep arriving), so it grows
 * when the count passes it.
 */
export interface ProgressReporter {
  update(scanned: number): void;
  /** Ends the bar (or writes the last line). Idempotent. */
  finish(): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  out: NodeJS.WritableStream & { isTTY?: boolean };
  now?(): number;
  intervalMs?: number;
}

const rate = (n: number, ms: number) => (ms <= 0 ? 0 : Math.round((n * 1000) / ms));

export function createProgress(o: ProgressOptions): ProgressReporter {
  const now = o.now ?? Date.now;
  const started = now();
  let total = Math.max(1, o.total);
  let scanned = 0;
  let finished = false;
  if (o.out.isTTY === true) {
    const bar = new SingleBar(
      {
        format: `${o.label} [{bar}] {percentage}% | {value}/{total} events | {speed} events/s | ETA {eta_formatted}`,
        stream: o.out,
        hideCursor: true,
        etaBuffer: 50,
      },
      Presets.shades_classic,
    );
    bar.start(total, 0, { speed: 0 });
    return {
      update(n) {
        scanned = n;
        if (n > total) bar.setTotal((total = n));
        bar.update(n, { speed: rate(n, now() - started) });
      },
      finish() {
        if (finished) return;
        finished = true;
        bar.update(scanned, { speed: rate(scanned, now() - started) });
        bar.stop();
      },
    };
  }
  const interval = o.intervalMs ?? 2000;
  let lastLine = started;
  return {
    update(n) {
      scanned = n;
      total = Math.max(total, n);
      const t = now();
      if (t - lastLine < interval) return;
      lastLine = t;
      const pct = Math.floor((n * 100) / total);
      o.out.write(
        `${o.label}: ${n} of ~${total} events (${pct}%), ${rate(n, t - started)} events/s\n`,
      );
    },
    finish() {
      if (finished) return;
      finished = true;
      const ms = now() - started;
      o.out.write(
        `${o.label}: ${scanned} events in ${(ms / 1000).toFixed(1)} s (${rate(scanned, ms)} events/s)\n`,
      );
    },
  };
}
