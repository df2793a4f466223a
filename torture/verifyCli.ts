import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/lib/paths.js';
import type { Verdict } from './checks.js';
import { builtCli } from './instances.js';

/**
 * `projectord verify` through the built CLI, as an operator would run it once the store is
 * quiet: every projection recomputed from event_store and diffed against its read model; exit 0
 * means all match. The poison events are dead-lettered, and verify leaves those out of the
 * recompute, so they never excuse a failure. Reported as pending while the command is not part
 * of the build.
 */
export async function verifyViaCli(o: {
  poison: ReadonlySet<string>;
  mongoUri: string;
  dbName: string;
  configFile: string;
  timeoutMs: number;
}): Promise<Verdict> {
  if (!existsSync(join(packageRoot(), 'dist', 'src', 'cli', 'commands', 'verify.js'))) {
    return {
      name: 'verify',
      ok: false,
      waived: 'pending',
      detail: 'pending: `projectord verify` is not built',
    };
  }
  const args = [builtCli(), 'verify', '--mongo-uri', o.mongoUri, '--db', o.dbName];
  args.push('--config', o.configFile, '--log-level', 'warn');
  const proc = spawn(process.execPath, args, {
    cwd: packageRoot(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => proc.kill('SIGKILL'), o.timeoutMs);
  const code = await new Promise<number | null>((resolve) => proc.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  const lines = out.trim().split('\n').filter(Boolean);
  if (code === 0) return { name: 'verify', ok: true, detail: lines.filter(isSummary).join('; ') };
  const atPoison = stoppedAtPoison(lines, o.poison);
  return {
    name: 'verify',
    ok: false,
    detail:
      (atPoison
        ? `the recompute stopped at a poison event that verify should have left out as ` +
          `dead-lettered (${atPoison}): is it in projector_dead_letters for that module? `
        : '') + `exit ${String(code)}:\n${lines.slice(-20).join('\n')}`,
  };
}

const isSummary = (l: string) => /^\S+: (matches|DIFFERS|could not recompute)/.test(l);

/**
 * verify leaves out the events dead-lettered for a module, so a recompute that still stops at a
 * poison event means its dead letter is missing or was not matched: names the modules and
 * events so stopped (for the failure's detail; never a waiver), or undefined.
 */
function stoppedAtPoison(
  lines: readonly string[],
  poison: ReadonlySet<string>,
): string | undefined {
  const stopped = lines
    .map((l) => /^(\S+): could not recompute from event_store: .* failed on \S+ (\S+) \(/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && poison.has(m[2] ?? ''));
  if (stopped.length === 0) return undefined;
  return stopped.map((m) => `${m[1]} at ${m[2]}`).join(', ');
}
