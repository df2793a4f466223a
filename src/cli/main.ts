import { Command, CommanderError, Option } from 'commander';
import { ProjectordError, toError } from '../lib/errors.js';
import { LOG_LEVELS } from '../observability/logger.js';
import { redactUri } from '../observability/redact.js';
import { COMMANDS } from './commands/index.js';

export function buildProgram(): Command {
  const program = new Command('projectord')
    .description(
      'Keeps read models, sagas and compliance records of an event-sourced MongoDB system up to date.',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .addOption(
      new Option('--mongo-uri <uri>', 'MongoDB connection string (or PROJECTORD_MONGO_URI)'),
    )
    .addOption(
      new Option('--db <name>', 'database of event_store (default: event_sourcing_system)'),
    )
    .addOption(new Option('--config <file>', 'config file (JSON or YAML)'))
    .addOption(new Option('--log-level <level>', 'log level').choices([...LOG_LEVELS]));
  // Before the commands: subcommands inherit exitOverride, so their usage errors exit 2 too.
  program.exitOverride();
  for (const register of COMMANDS) register(program);
  return program;
}

/** Runs the CLI and returns the exit code (0 ok, 1 failure found, 2 bad usage or config). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0;
      if (e.code === 'commander.help') return 0;
      return 2;
    }
    if (e instanceof ProjectordError) {
      process.stderr.write(`projectord: ${redactUri(e.message)}\n`);
      return e.exitCode;
    }
    const err = toError(e);
    process.stderr.write(`projectord: unexpected error: ${redactUri(err.stack ?? err.message)}\n`);
    return 1;
  }
}
