import { parseArgs } from 'node:util';
import { randomSeed } from '../src/simulate/options.js';
import { runTorture, type TortureOptions } from './run.js';

/**
 * `npm run torture -- [--events 100000] [--kills 20] [--seed n] [--cut-every-ms 3000]
 *   [--poison n] [--instances 2] [--accounts 50] [--rate n] [--settle-timeout-s 1800]
 *   [--mongo-uri uri]`
 * Needs a build (`npm run build`): the daemons are the built CLI. Without --mongo-uri (or
 * MONGODB_URI) it starts the embedded MongoDB. Prints progress to stderr and ONE summary line to
 * stdout; exits 0 when every check passed, 1 when one failed, 2 on bad flags.
 */
function usage(message: string): never {
  process.stderr.write(`torture: ${message}\n`);
  process.exit(2);
}

function whole(raw: string | undefined, name: string, def: number, min: number): number {
  if (raw === undefined) return def;
  const n = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min)
    usage(`--${name} must be a whole number ≥ ${min}, got "${raw}"`);
  return n;
}

function parse(): TortureOptions {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      options: Object.fromEntries(
        [
          'events',
          'kills',
          'seed',
          'cut-every-ms',
          'poison',
          'instances',
          'accounts',
          'rate',
          'settle-timeout-s',
          'mongo-uri',
        ].map((k) => [k, { type: 'string' as const }]),
      ),
    }));
  } catch (e) {
    usage(e instanceof Error ? e.message : String(e));
  }
  const events = whole(values.events, 'events', 100_000, 1);
  const rate = values.rate === undefined ? undefined : whole(values.rate, 'rate', 0, 1);
  const mongoUri = values['mongo-uri'] ?? process.env.MONGODB_URI;
  return {
    events,
    kills: whole(values.kills, 'kills', 20, 0),
    seed: whole(values.seed, 'seed', randomSeed(), 0),
    cutEveryMs: whole(values['cut-every-ms'], 'cut-every-ms', 3000, 100),
    poison: whole(
      values.poison,
      'poison',
      Math.min(100, Math.max(7, Math.round(events / 1000))),
      0,
    ),
    instances: whole(values.instances, 'instances', 2, 1),
    accounts: whole(values.accounts, 'accounts', 50, 2),
    ...(rate === undefined ? {} : { rate }),
    ...(mongoUri ? { mongoUri } : {}),
    settleTimeoutMs: whole(values['settle-timeout-s'], 'settle-timeout-s', 1800, 1) * 1000,
    log: (line) =>
      process.stderr.write(`[torture ${new Date().toISOString().slice(11, 19)}] ${line}\n`),
  };
}

async function main(): Promise<number> {
  const opts = parse();
  // Signals end the process through exit(), whose hook SIGKILLs the daemons.
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => process.exit(130));
  opts.log(
    `seed ${opts.seed}: ${opts.events} events, ${opts.kills} kills, cuts every ~${opts.cutEveryMs} ms, ` +
      `${opts.poison} poison, ${opts.instances} instances`,
  );
  const result = await runTorture(opts);
  for (const v of result.verdicts.filter((x) => !x.ok)) opts.log(`${v.name}: ${v.detail}`);
  if (!result.ok) {
    for (const [id, out] of Object.entries(result.outputs))
      opts.log(`${id} output (tail):\n${out.slice(-4000)}`);
    if (result.logDir) opts.log(`every instance's whole output: ${result.logDir}/<id>.log`);
  }
  process.stdout.write(`${result.summary}\n`);
  return result.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(
      `torture: failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    process.exit(1);
  },
);
