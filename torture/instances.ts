import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../src/lib/paths.js';

/**
 * `projectord run` instances for the torture run: child processes of the BUILT CLI
 * (bin/projectord.js → dist/), each with its own --instance-id, all on one config file. An
 * instance can be SIGKILLed and started again any number of times; `exits` records every exit
 * that the torture did not cause (a crash), which fails the run. Every child is SIGKILLed when
 * this process exits, so none outlives the run. `output()` keeps only the last 20,000 characters;
 * with `logFile`, every start's whole output is appended there too (a stall's first lines scroll
 * out of the tail long before a settle times out).
 */
export interface Instance {
  readonly id: string;
  readonly running: boolean;
  readonly starts: number;
  /** Exits nobody asked for (code and signal), e.g. a daemon that crashed. */
  readonly unexpectedExits: string[];
  start(): void;
  /** SIGKILL; resolves when the process is gone. */
  kill(): Promise<void>;
  /**
   * SIGTERM; resolves with the exit code (null when it died by a signal), or 'hung' when it had
   * not exited after `timeoutMs` (it is then SIGKILLed: a stop must be bounded, invariant 8).
   */
  terminate(timeoutMs: number): Promise<number | null | 'hung'>;
  output(): string;
}

export interface InstanceOptions {
  id: string;
  mongoUri: string;
  dbName: string;
  configFile: string;
  logLevel?: string;
  /** Appends all the output of every start here (created on first write). */
  logFile?: string;
}

const OUTPUT_LIMIT = 20_000;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** SIGKILLs every instance process still running (a test's cleanup; the exit hook's too). */
export function killAllInstances(): void {
  for (const child of live) child.kill('SIGKILL');
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllInstances);
}

export function builtCli(): string {
  const root = packageRoot();
  const bin = join(root, 'bin', 'projectord.js');
  if (!existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` before the torture run.');
  }
  return bin;
}

export function createInstance(o: InstanceOptions): Instance {
  const bin = builtCli();
  installExitHook();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let expected = false;
  let out = '';
  let starts = 0;
  const unexpectedExits: string[] = [];
  const keep = (text: string) => {
    out = (out + text).slice(-OUTPUT_LIMIT);
    if (o.logFile) appendFileSync(o.logFile, text);
  };
  const append = (d: Buffer) => keep(d.toString());

  const instance: Instance = {
    id: o.id,
    get running() {
      return child !== undefined;
    },
    get starts() {
      return starts;
    },
    unexpectedExits,
    start() {
      if (child) throw new Error(`instance ${o.id}: start() while running`);
      starts += 1;
      expected = false;
      keep(`\n--- ${o.id} start #${starts} at ${new Date().toISOString()} ---\n`);
      const args = [
        bin,
        'run',
        '--mongo-uri',
        o.mongoUri,
        '--db',
        o.dbName,
        '--config',
        o.configFile,
      ];
      args.push('--instance-id', o.id, '--metrics-port', '0', '--log-level', o.logLevel ?? 'warn');
      const proc = spawn(process.execPath, args, {
        cwd: packageRoot(),
        stdio: ['ignore', 'pipe', 'pipe'],
        // Only the flags and the file configure the daemon.
        env: Object.fromEntries(
          Object.entries(process.env).filter(([k]) => !k.startsWith('PROJECTORD_')),
        ),
      });
      child = proc;
      live.add(proc);
      proc.stdout?.on('data', append);
      proc.stderr?.on('data', append);
      exited = new Promise<void>((resolve) => {
        proc.once('close', (code, signal) => {
          live.delete(proc);
          child = undefined;
          if (!expected) unexpectedExits.push(`code ${String(code)}, signal ${String(signal)}`);
          resolve();
        });
      });
    },
    async kill() {
      if (!child) return;
      expected = true;
      child.kill('SIGKILL');
      await exited;
    },
    async terminate(timeoutMs) {
      const proc = child;
      if (!proc) return null;
      expected = true;
      proc.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<'hung'>((r) => (timer = setTimeout(() => r('hung'), timeoutMs)));
      const outcome = await Promise.race([exited.then(() => 'exited' as const), hung]);
      clearTimeout(timer);
      if (outcome === 'exited') return proc.exitCode;
      proc.kill('SIGKILL');
      await exited;
      return 'hung';
    },
    output: () => out,
  };
  return instance;
}
