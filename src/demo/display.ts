import { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import pinoPretty from 'pino-pretty';
import { createLogger, type Logger, type LogLevel } from '../observability/logger.js';
import { liveLines, plainLine, type DemoView } from './render.js';

/**
 * Where the demo's picture goes. On a terminal, cli-progress redraws the headline (with a bar
 * when the run has a target), the module table and the saga states in place, and log lines are
 * printed above them so they never tear the table. Elsewhere (a pipe, CI) a plain summary line
 * is written every `plainEveryMs`, and logs go to stderr as usual.
 */
export interface DemoDisplay {
  show(view: DemoView): void;
  /** A line that must stay on screen (a phase change, the final report). */
  print(line: string): void;
  /** What the logger writes to. */
  readonly logStream: NodeJS.WritableStream;
  /** Draws the last picture and releases the terminal. Idempotent. */
  stop(): void;
}

export interface DisplayOptions {
  out: NodeJS.WriteStream;
  tty: boolean;
  plainEveryMs: number;
}

export function createDisplay(o: DisplayOptions): DemoDisplay {
  return o.tty ? terminalDisplay(o.out) : plainDisplay(o.out, o.plainEveryMs);
}

/**
 * The demo's logger: on a terminal, pretty and one line per entry above the live table (a
 * person reads them, and a multi-line entry would tear the redraw); elsewhere the usual stderr.
 */
export function demoLogger(display: DemoDisplay, tty: boolean, level: LogLevel): Logger {
  if (!tty) return createLogger({ level });
  const destination = pinoPretty({
    destination: display.logStream,
    sync: true,
    singleLine: true,
    ignore: 'pid,hostname',
    translateTime: 'SYS:HH:MM:ss',
  });
  return createLogger({ level, destination });
}

function plainDisplay(out: NodeJS.WriteStream, everyMs: number): DemoDisplay {
  let lastAt = -Infinity;
  let lastPhase: string | undefined;
  return {
    show(view) {
      // A phase change is worth a line at once; otherwise one line per period.
      if (view.phase === lastPhase && view.elapsedMs - lastAt < everyMs) return;
      lastAt = view.elapsedMs;
      lastPhase = view.phase;
      out.write(`${plainLine(view)}\n`);
    },
    print: (line) => void out.write(`${line}\n`),
    logStream: process.stderr,
    stop: () => undefined,
  };
}

function terminalDisplay(out: NodeJS.WriteStream): DemoDisplay {
  const multibar = new cliProgress.MultiBar({
    stream: out,
    format: '{line}',
    hideCursor: true,
    gracefulExit: false, // the demo owns SIGINT/SIGTERM (lifecycle/signals.ts)
    clearOnComplete: false,
    barsize: 24,
    fps: 5,
    // Log lines printed above shift the picture: redraw every row, changed or not.
    forceRedraw: true,
  });
  let head: cliProgress.SingleBar | undefined;
  const lines: cliProgress.SingleBar[] = [];
  let stopped = false;

  // Once the table is gone, logs go back to stderr and lines for the reader to `out`.
  const above = (text: string, fallback: NodeJS.WritableStream) => {
    if (stopped) fallback.write(text);
    else multibar.log(text);
  };
  const logStream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      above(String(chunk), process.stderr);
      done();
    },
  });

  return {
    show(view) {
      if (stopped) return;
      const [first, ...rest] = liveLines(view);
      const total = Math.max(1, view.target ?? 1);
      head ??= multibar.create(
        total,
        0,
        { line: first },
        {
          format: view.target === undefined ? '{line}' : '{bar} {line}',
        },
      );
      head.setTotal(total);
      head.update(Math.min(view.written, total), { line: first });
      rest.forEach((text, i) => {
        const bar = (lines[i] ??= multibar.create(1, 0, { line: text }));
        bar.update(0, { line: text });
      });
      // A table that shrank leaves no stale rows behind.
      for (const bar of lines.slice(rest.length)) bar.update(0, { line: '' });
    },
    print: (line) => above(`${line}\n`, out),
    logStream,
    stop() {
      if (stopped) return;
      multibar.update(); // flushes log lines still buffered
      multibar.stop();
      stopped = true;
    },
  };
}
