import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { redactUri, redactValue } from './redact.js';

export type { Logger };
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level: LogLevel;
  /** Human-readable output (pino-pretty); defaults to JSON unless stderr is a terminal. */
  pretty?: boolean;
  /** Where to write; defaults to stderr so stdout stays for command output (URIs, tables, JSON). */
  destination?: NodeJS.WritableStream;
}

/**
 * The root logger. JSON by default (one object per line, for log shippers); every string that
 * looks like a URI has its password replaced, in fields and messages alike.
 */
export function createLogger(options: LoggerOptions): Logger {
  const pretty = options.pretty ?? Boolean(process.stderr.isTTY);
  const level: LevelWithSilent = options.level;
  const base = {
    level,
    base: { pid: process.pid },
    formatters: {
      log: (obj: Record<string, unknown>) => redactValue(obj) as Record<string, unknown>,
    },
    hooks: {
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? redactUri(a) : a)),
        );
      },
    },
  };
  if (pretty && options.destination === undefined) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } },
    });
  }
  const stream: DestinationStream = options.destination ?? pino.destination({ fd: 2 });
  return pino(base, stream);
}

/** A logger that drops everything: the default for library callers and unit tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
