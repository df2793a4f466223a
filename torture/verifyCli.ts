import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/lib/paths.js';
import type { Verdict } from './checks.js';
import { builtCli } from './instances.js';

/**
 * `projectord verify` through the built CLI, as an operator would run it once the store is
 * quiet: every projection recomputed from event_store and diffed against its read model; exit 0
 * means all match. Reported as pending while the command is not part of the build.
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
  const blocked = blockedByPoison(lines, o.poison);
  return {
    name: 'verify',
    ok: false,
    ...(blocked ? { waived: 'blocked' as const } : {}),
    detail:
      (blocked
        ? `blocked: the recompute stops at a dead-lettered poison event (${blocked}); `
        : '') + `exit ${String(code)}:\n${lines.slice(-20).join('\n')}`,
  };
}

const isSummary = (l: string) => /^\S+: (matches|DIFFERS|could not recompute)/.test(l);

/**
 * verify's recompute is strict (it stops at the first handler error, DESIGN.md invariant 6), so
 * on a store holding poison events a module cannot be recomputed at all. When that is the only
 * reason verify failed — no module DIFFERS, every failing module stopped at a poison event —
 * returns the modules so stopped; otherwise undefined (a real failure).
 */
function blockedByPoison(
  lines: readonly string[],
  poison: ReadonlySet<string>,
): string | undefined {
  if (lines.some((l) => /^\S+: DIFFERS/.test(l))) return undefined;
  const stopped = lines
    .map((l) => /^(\S+): could not recompute from event_store: .* failed on \S+ (\S+) \(/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null);
  if (stopped.length === 0 || !stopped.every((m) => poison.has(m[2] ?? ''))) return undefined;
  return stopped.map((m) => m[1]).join(', ');
}
