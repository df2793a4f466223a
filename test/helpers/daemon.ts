import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db, Document } from 'mongodb';
import { afterAll, afterEach } from 'vitest';
import { stringify } from 'yaml';
import { packageRoot } from '../../src/lib/paths.js';

/**
 * `projectord run` as a child process, for tests that kill it. It runs the BUILT code
 * (bin/projectord.js → dist/), so `npm run build` must come first. The config enables only the
 * built-in `event-counter` module, with short checkpoint intervals and a short lease (a restart
 * after kill -9 takes the module over quickly). Create daemons through `useDaemons()`: every one
 * is killed after each test, and on the worker's exit, so no process outlives its test.
 */
export interface DaemonOptions {
  mongoUri: string;
  dbName: string;
  /** Top-level keys replace those of the test config (see `daemonConfig`). */
  config?: Record<string, unknown>;
  logLevel?: string;
}

export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Daemon {
  /** Spawns the process; throws if it is running already. */
  start(): Promise<void>;
  readonly running: boolean;
  readonly starts: number;
  /**
   * Sends a signal to the running process (no-op when it is not running). A SIGSTOPped process
   * still counts as running; SIGKILL (dispose) ends it all the same.
   */
  kill(signal: 'SIGKILL' | 'SIGTERM' | 'SIGINT' | 'SIGSTOP' | 'SIGCONT'): void;
  /** Resolves when the process has exited; throws (with its output) after `timeoutMs`. */
  waitForExit(timeoutMs?: number): Promise<DaemonExit>;
  /** Throws, with the captured output, if the process is not running. For waitFor checks. */
  assertRunning(): void;
  /** The last output of the current or last process (stderr and stdout interleaved). */
  output(): string;
  /** SIGKILL if running, wait for the exit, delete the config. Idempotent. */
  dispose(): Promise<void>;
}

const OUTPUT_LIMIT = 16_000;

export function eventCounterModulePath(): string {
  return join(packageRoot(), 'dist', 'src', 'modules', 'testing', 'eventCounter.js');
}

export function daemonConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    modules: { paths: [eventCounterModulePath()] },
    checkpoint: { everyEvents: 50, everyMs: 100 },
    leases: { ttlMs: 3000, heartbeatMs: 500 },
    shutdown: { timeoutMs: 10_000 },
    // A MongoDB call the driver leaves unsettled after a cut is retried after this long.
    mongo: { operationTimeoutMs: 5000 },
    ...overrides,
  };
}

function assertBuilt(): string {
  const root = packageRoot();
  const bin = join(root, 'bin', 'projectord.js');
  for (const file of [join(root, 'dist', 'src', 'cli', 'main.js'), eventCounterModulePath()]) {
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: run \`npm run build\` before the daemon tests.`);
    }
  }
  return bin;
}

/** The test's environment without PROJECTORD_* settings: the daemon sees only its flags and file. */
function daemonEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('PROJECTORD_')),
  );
}

export function createDaemon(opts: DaemonOptions): Daemon {
  const bin = assertBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'projectord-daemon-'));
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, stringify(daemonConfig(opts.config)));
  let child: ChildProcess | undefined;
  let exited: Promise<DaemonExit> = Promise.resolve({ code: null, signal: null });
  let exit: DaemonExit | undefined;
  let out = '';
  let starts = 0;

  const append = (d: Buffer): void => {
    out = (out + d.toString()).slice(-OUTPUT_LIMIT);
  };
  const describeExit = (e: DaemonExit): string =>
    e.signal ? `was killed by ${e.signal}` : `exited with code ${String(e.code)}`;

  const daemon: Daemon = {
    async start() {
      if (daemon.running) throw new Error('daemon: start() while it is running');
      starts += 1;
      out += `\n--- start #${starts} ---\n`;
      exit = undefined;
      const args = [
        bin,
        'run',
        '--mongo-uri',
        opts.mongoUri,
        '--db',
        opts.dbName,
        '--config',
        configFile,
        '--metrics-port',
        '0',
        '--log-level',
        opts.logLevel ?? 'warn',
      ];
      const proc = spawn(process.execPath, args, {
        cwd: packageRoot(),
        stdio: ['ignore', 'pipe', 'pipe'],
        env: daemonEnv(),
      });
      child = proc;
      proc.stdout?.on('data', append);
      proc.stderr?.on('data', append);
      exited = new Promise<DaemonExit>((resolve) => {
        // 'close', not 'exit': it comes after the output pipes are drained.
        proc.once('close', (code, signal) => {
          exit = { code, signal };
          resolve(exit);
        });
      });
      await new Promise<void>((resolve, reject) => {
        proc.once('spawn', () => resolve());
        proc.once('error', reject);
      });
    },
    get running() {
      return child !== undefined && exit === undefined;
    },
    get starts() {
      return starts;
    },
    kill(signal) {
      if (daemon.running) child?.kill(signal);
    },
    async waitForExit(timeoutMs = 20_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`daemon did not exit within ${timeoutMs} ms; output:\n${out}`)),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([exited, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    assertRunning() {
      if (exit) throw new Error(`daemon ${describeExit(exit)}; output:\n${out}`);
    },
    output: () => out,
    async dispose() {
      daemon.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return daemon;
}

/**
 * A factory of daemons for one test file: each is SIGKILLed after the test that made it (and,
 * should the worker die first, on its exit), so no process is left behind.
 */
export function useDaemons(): { create(opts: DaemonOptions): Daemon } {
  const live = new Set<Daemon>();
  const killAllNow = (): void => {
    for (const d of live) d.kill('SIGKILL');
  };
  process.on('exit', killAllNow);
  const disposeAll = async (): Promise<void> => {
    const all = [...live];
    live.clear();
    await Promise.all(all.map((d) => d.dispose()));
  };
  afterEach(disposeAll);
  afterAll(async () => {
    await disposeAll();
    process.off('exit', killAllNow);
  });
  return {
    create(opts) {
      const d = createDaemon(opts);
      live.add(d);
      return d;
    },
  };
}

/** The module's document in projector_checkpoints (keyed by module name), or null. */
export function readCheckpoint(db: Db, moduleName: string): Promise<Document | null> {
  return db.collection<{ _id: string }>('projector_checkpoints').findOne({ _id: moduleName });
}
