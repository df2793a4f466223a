import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { createLogger, type Logger, type LogLevel } from '../observability/logger.js';

/** Global flags shared by every command (DESIGN.md "CLI"). */
export interface GlobalFlags {
  mongoUri?: string;
  db?: string;
  config?: string;
  logLevel?: LogLevel;
}

export interface CommandContext {
  config: Config;
  logger: Logger;
}

/**
 * Resolves the configuration (defaults < file < env < flags) and the root logger for a command.
 * `extraFlags` are command-specific values already shaped like the config.
 */
export function commandContext(
  cmd: Command,
  extraFlags: Record<string, unknown> = {},
): CommandContext {
  const g = cmd.optsWithGlobals<GlobalFlags>();
  const config = loadConfig({
    file: g.config,
    flags: { mongoUri: g.mongoUri, db: g.db, logLevel: g.logLevel, ...extraFlags },
  });
  const logger = createLogger({ level: config.logLevel });
  return { config, logger };
}
