import { userInfo } from 'node:os';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { DeadLetter, DeadLetterStatus } from '../../lanes/deadLetters.js';
import { ProjectordError } from '../../lib/errors.js';
import {
  DEAD_LETTER_STATUSES,
  listDeadLetters,
  requestAction,
  UNFINISHED,
  waitUntilPerformed,
  type Action,
} from '../../replay/deadLetterRequests.js';
import {
  errorText,
  renderDeadLetterJson,
  renderDeadLetterTable,
} from '../../replay/deadLetterTable.js';
import { withDatabase } from '../../replay/operatorDb.js';
import { commandContext } from '../context.js';
import { parseInteger } from '../parse.js';

/**
 * `projectord dlq list | retry <id> | skip <id>`: the dead letters (DESIGN.md invariant 6).
 * retry and skip record a request that the daemon running the module performs in order; with
 * --wait the command follows it to its outcome (exit 1 when the retry failed again or nobody
 * performed it in time). Unknown ids and entries in the wrong state are exit 2, saying what to do.
 */
function parseStatuses(value: string): DeadLetterStatus[] {
  if (value.trim() === 'all') return [...DEAD_LETTER_STATUSES];
  const wanted = value.split(',').map((s) => s.trim());
  const bad = wanted.filter((s) => !(DEAD_LETTER_STATUSES as readonly string[]).includes(s));
  if (bad.length > 0 || wanted.length === 0) {
    throw new InvalidArgumentError(
      `--status must be "all" or a comma-separated list of ${DEAD_LETTER_STATUSES.join(', ')} ` +
        `(got "${value}").`,
    );
  }
  return wanted as DeadLetterStatus[];
}

function parseBy(value: string): string {
  const by = value.trim();
  if (by === '' || by.length > 200) {
    throw new InvalidArgumentError(
      `--by must name who asks, 1 to 200 characters (got "${value}").`,
    );
  }
  return by;
}

function defaultBy(): string {
  try {
    return userInfo().username || 'operator';
  } catch {
    return 'operator';
  }
}

const out = (text: string) => process.stdout.write(text);

function registerRequest(dlq: Command, action: Action): void {
  const verb = action === 'retry' ? 'Retry' : 'Skip';
  dlq
    .command(action)
    .description(
      action === 'retry'
        ? 'ask the daemon to re-run a parked event (then the events waiting behind it), or to read an invalid one again'
        : 'ask the daemon to skip a parked event and release the events waiting behind it',
    )
    .argument('<id>', 'the dead letter id (<module>:<eventId>, from dlq list)')
    .addOption(new Option('--by <name>', 'who asks (default: the OS user)').argParser(parseBy))
    .option('--wait', 'wait until the daemon has performed the request')
    .addOption(
      new Option('--timeout-ms <ms>', 'how long --wait waits (default 60000)').argParser((v) =>
        parseInteger(v, '--timeout-ms', 1, 86_400_000),
      ),
    )
    .action(
      async (
        id: string,
        opts: { by?: string; wait?: boolean; timeoutMs?: number },
        cmd: Command,
      ) => {
        const { config } = commandContext(cmd);
        await withDatabase(config, `dlq ${action}`, async (db) => {
          const by = opts.by ?? defaultBy();
          const entry = await requestAction(db, id, action, by);
          if (entry.status === 'skipped') {
            out(`${id}: skipped by ${by} (an invalid event: nothing waits behind it).\n`);
            return;
          }
          out(
            `${verb} of ${id} requested by ${by}: the daemon running module ${entry.module} ` +
              `performs it in order. Follow it with projectord dlq list --module ${entry.module}.\n`,
          );
          if (opts.wait) await follow(db, entry, opts.timeoutMs ?? 60_000);
        });
      },
    );
}

async function follow(db: Parameters<typeof waitUntilPerformed>[0], entry: DeadLetter, ms: number) {
  const done = await waitUntilPerformed(db, entry._id, { timeoutMs: ms });
  if (!done) {
    throw new ProjectordError(
      'DLQ_WAIT_TIMEOUT',
      `${entry._id} was not performed within ${ms} ms: is a daemon running that owns module ` +
        `${entry.module}? Check with projectord status; the request stays recorded.`,
    );
  }
  if (done.status === 'parked' || done.status === 'invalid') {
    throw new ProjectordError(
      'DLQ_RETRY_FAILED',
      `${entry._id} failed again and is ${done.status} (${errorText(done)}). Fix the cause and ` +
        `retry, or skip it with projectord dlq skip ${entry._id}.`,
    );
  }
  out(`${entry._id}: ${done.status}; the events that waited behind it are applied.\n`);
}

export function registerDlq(program: Command): void {
  // exitOverride is inherited by the subcommands: a bad flag value throws to main() (exit 2).
  const dlq = program.command('dlq').description('list, retry or skip dead letters').exitOverride();
  dlq
    .command('list')
    .description('dead letters not yet finished (or those of --status), oldest first per module')
    .option('--module <name>', 'only this module')
    .addOption(
      new Option('--status <list>', 'statuses, comma-separated, or "all"').argParser(parseStatuses),
    )
    .option('--json', 'print JSON instead of a table')
    .addOption(
      new Option('--limit <n>', 'at most this many entries (default 200)').argParser((v) =>
        parseInteger(v, '--limit', 1, 100_000),
      ),
    )
    .action(
      async (
        opts: { module?: string; status?: DeadLetterStatus[]; json?: boolean; limit?: number },
        cmd: Command,
      ) => {
        const { config } = commandContext(cmd);
        await withDatabase(config, 'dlq list', async (db) => {
          const entries = await listDeadLetters(db, {
            ...(opts.module === undefined ? {} : { module: opts.module }),
            statuses: opts.status ?? UNFINISHED,
            limit: opts.limit ?? 200,
          });
          out(opts.json ? renderDeadLetterJson(entries) : renderDeadLetterTable(entries));
        });
      },
    );
  registerRequest(dlq, 'retry');
  registerRequest(dlq, 'skip');
}
