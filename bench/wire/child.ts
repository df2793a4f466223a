import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { packageRoot } from '../../src/lib/paths.js';

/**
 * `projectord run` as a child process (the built CLI, as an operator runs it) with only the
 * event-counter module, for the recovery scenario. The instance id stays the same across
 * restarts, so a restarted process takes its own lease back at once instead of waiting for it
 * to expire (as a restarted pod with a stable name would).
 */
export interface DaemonChild {
  readonly metricsPort: number;
  readonly exited: Promise<void>;
  kill(signal: 'SIGKILL' | 'SIGTERM'): void;
  output(): string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function writeChildConfig(checkpoint: { everyEvents: number; everyMs: number }): string {
  const dir = mkdtempSync(join(tmpdir(), 'projectord-bench-'));
  const file = join(dir, 'config.yaml');
  const counter = join(packageRoot(), 'dist', 'src', 'modules', 'testing', 'eventCounter.js');
  writeFileSync(file, stringify({ modules: { paths: [counter] }, checkpoint }));
  return file;
}

export function startChild(o: {
  uri: string;
  db: string;
  configFile: string;
  metricsPort: number;
}): DaemonChild {
  const bin = join(packageRoot(), 'bin', 'projectord.js');
  const args = [
    bin,
    'run',
    '--mongo-uri',
    o.uri,
    '--db',
    o.db,
    '--config',
    o.configFile,
    '--metrics-host',
    '127.0.0.1',
    '--metrics-port',
    String(o.metricsPort),
    '--instance-id',
    'bench-recovery',
    '--log-level',
    'warn',
  ];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  return {
    metricsPort: o.metricsPort,
    exited,
    kill: (signal) => void child.kill(signal),
    output: () => out,
  };
}

/** Sum of projectord_events_applied_total for the module, per outcome; undefined if unreachable. */
export async function appliedByOutcome(
  port: number,
  module: string,
): Promise<Record<string, number> | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    if (!res.ok) return undefined;
    const out: Record<string, number> = {};
    for (const line of (await res.text()).split('\n')) {
      if (!line.startsWith('projectord_events_applied_total{')) continue;
      if (!line.includes(`module="${module}"`)) continue;
      const outcome = /outcome="([^"]+)"/.exec(line)?.[1] ?? '?';
      out[outcome] = (out[outcome] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return out;
  } catch {
    return undefined;
  }
}
