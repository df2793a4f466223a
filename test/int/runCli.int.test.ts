import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { packageRoot } from '../../src/lib/paths.js';
import { daemonConfig, useDaemons } from '../helpers/daemon.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';

/**
 * `projectord run` as an operator starts it (the built CLI, a child process): how it ends when
 * it cannot get going. DESIGN.md "CLI": exit 0 on a graceful stop, 2 on bad usage or config
 * (a port in use among them), and every message says what was wrong.
 */
async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The port of /metrics from the daemon's JSON log line that announces it. */
function servedPort(output: string): number | undefined {
  for (const line of output.split('\n')) {
    if (!line.includes('serving /metrics')) continue;
    const port = (JSON.parse(line) as { port?: unknown }).port;
    if (typeof port === 'number') return port;
  }
  return undefined;
}

describe('projectord run (child process)', () => {
  const daemons = useDaemons();
  const dir = mkdtempSync(join(tmpdir(), 'projectord-runcli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a SIGTERM while it is still connecting to MongoDB is a clean stop: exit 0', async () => {
    // Nothing listens there: the daemon keeps trying to connect until it is stopped.
    const unreachable = `mongodb://127.0.0.1:${await closedPort()}/?serverSelectionTimeoutMS=30000`;
    const daemon = daemons.create({ mongoUri: unreachable, dbName: 'unused', logLevel: 'info' });
    await daemon.start();
    // /healthz answers only once runDaemon has moved past the HTTP start, so its signal
    // handlers are installed and it is connecting.
    const port = await waitFor(
      () => {
        daemon.assertRunning();
        return servedPort(daemon.output());
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the daemon to serve /healthz' },
    );
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);

    daemon.kill('SIGTERM');
    const exit = await daemon.waitForExit(30_000);
    const output = daemon.output();
    expect(exit, output).toEqual({ code: 0, signal: null });
    expect(output).not.toMatch(/unexpected error/);
    expect(output).not.toMatch(/\n\s+at /);
    expect(output).toMatch(/stopped before start-up finished/);
  });

  it('a metrics port already in use exits 2 naming the port', async () => {
    const { dbName } = await useTestDb('runcli');
    const configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, stringify(daemonConfig()));
    const blocker = createServer();
    const port = await listen(blocker);
    try {
      const args = [
        join(packageRoot(), 'bin', 'projectord.js'),
        'run',
        '--mongo-uri',
        mongoUri(),
        '--db',
        dbName,
        '--config',
        configFile,
        '--metrics-host',
        '127.0.0.1',
        '--metrics-port',
        String(port),
        '--log-level',
        'warn',
      ];
      const child = spawn(process.execPath, args, {
        cwd: packageRoot(),
        stdio: ['ignore', 'pipe', 'pipe'],
        env: Object.fromEntries(
          Object.entries(process.env).filter(([key]) => !key.startsWith('PROJECTORD_')),
        ),
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`projectord run did not exit within 30 s; output:\n${output}`));
        }, 30_000);
        child.once('close', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(code, output).toBe(2);
      expect(output).toContain(`127.0.0.1:${port}`);
      expect(output).toMatch(/already in use/);
      expect(output).toMatch(/--metrics-port/);
      expect(output).not.toMatch(/unexpected error/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });
});
