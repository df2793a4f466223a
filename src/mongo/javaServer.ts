import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { ProjectordError } from '../lib/errors.js';
import { packageRoot } from '../lib/paths.js';
import type { Logger } from '../observability/logger.js';

/**
 * The embedded fallback: mongo-java-server (in-memory backend) extended into a one-member replica
 * set with real indexes and an ordered, bounded oplog (tools/mongo-java-server, see
 * docs/EMBEDDED_MONGO.md). Its runtime jars are resolved from Maven Central into a git-ignored
 * cache on first use and the launcher's sources are compiled with javac whenever they change. The
 * launcher exits when its stdin closes, so the server never outlives this process, even after a
 * SIGKILL.
 */
const TOOL_DIR = join(packageRoot(), 'tools', 'mongo-java-server');
const SOURCES = join(TOOL_DIR, 'src', 'main', 'java');
const MAIN_CLASS = 'dev.projectord.mongo.EmbeddedMongo';

export function cacheDir(): string {
  return process.env.PROJECTORD_CACHE_DIR ?? join(packageRoot(), '.cache', 'mongo-java-server');
}

function need(tool: string, args: string[]): void {
  const r = spawnSync(tool, args, { stdio: 'ignore' });
  if (r.error || r.status !== 0) {
    throw new ProjectordError(
      'EMBEDDED_MONGO_TOOL_MISSING',
      `The embedded MongoDB fallback needs ${tool} (Java 17+ and Maven), which was not found. ` +
        `Install a JDK 17 and Maven, or set MONGODB_URI to a MongoDB replica set.`,
      { exitCode: 2 },
    );
  }
}

function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  return Math.max(0, ...readdirSync(dir).map((f) => statSync(join(dir, f)).mtimeMs));
}

function javaSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.java'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** What the compiled classes were built from: every source's path and content, and the jars. */
function fingerprint(sources: readonly string[], lib: string): string {
  const hash = createHash('sha256');
  for (const file of sources)
    hash.update(`${relative(SOURCES, file)}\n`).update(readFileSync(file));
  hash.update(readdirSync(lib).sort().join('\n'));
  return hash.digest('hex');
}

function resolveJars(lib: string, pom: string, logger: Logger): void {
  need('java', ['-version']);
  need('mvn', ['-v']);
  logger.info({ cache: lib }, 'resolving mongo-java-server from Maven Central (first use only)');
  rmSync(lib, { recursive: true, force: true });
  mkdirSync(lib, { recursive: true });
  const r = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      pom,
      'dependency:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${lib}`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) {
    rmSync(lib, { recursive: true, force: true });
    throw new ProjectordError(
      'EMBEDDED_MONGO_RESOLVE_FAILED',
      `Maven could not resolve mongo-java-server (exit ${r.status}): ` +
        `${(r.stdout + r.stderr).trim().slice(-800)}. Check access to Maven Central, or set MONGODB_URI.`,
      { exitCode: 2 },
    );
  }
}

/** Compiles every launcher source into a fresh directory, then swaps it in (another process may be reading the old one). */
function compile(sources: readonly string[], lib: string, classes: string, stamp: string): void {
  need('javac', ['-version']);
  const building = `${classes}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  const r = spawnSync('javac', ['-nowarn', '-d', building, '-cp', join(lib, '*'), ...sources], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    rmSync(building, { recursive: true, force: true });
    throw new ProjectordError(
      'EMBEDDED_MONGO_COMPILE_FAILED',
      `Compiling the embedded MongoDB launcher (${SOURCES}) failed: ${r.stderr.trim().slice(-800)}`,
      { exitCode: 2 },
    );
  }
  writeFileSync(join(building, 'FINGERPRINT'), stamp);
  rmSync(classes, { recursive: true, force: true });
  renameSync(building, classes);
}

/**
 * Resolves the jars when missing or older than the pom, and compiles the launcher when its
 * sources (any of them, added or removed included) or the jars changed; returns the classpath.
 */
export function prepareJavaServer(logger: Logger): string {
  const cache = cacheDir();
  const lib = join(cache, 'lib');
  const classes = join(cache, 'classes');
  const pom = join(TOOL_DIR, 'pom.xml');
  if (!existsSync(lib) || newest(lib) < statSync(pom).mtimeMs) resolveJars(lib, pom, logger);
  const sources = javaSources(SOURCES);
  const stamp = fingerprint(sources, lib);
  const built = join(classes, 'FINGERPRINT');
  if (!existsSync(built) || readFileSync(built, 'utf8') !== stamp) {
    compile(sources, lib, classes, stamp);
  }
  return `${classes}${process.platform === 'win32' ? ';' : ':'}${join(lib, '*')}`;
}

export interface JavaServerOptions {
  host?: string;
  port?: number;
  startTimeoutMs?: number;
  /** Oplog entries kept (newest first); older resume points answer ChangeStreamHistoryLost (286). */
  oplogMaxEntries?: number;
  /** The replica set name `hello` reports (default rs0). */
  replicaSetName?: string;
}

export interface RunningJavaServer {
  uri: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** The launcher's arguments (LauncherOptions.java). */
export function launcherArgs(opts: JavaServerOptions): string[] {
  const args = [opts.host ?? '127.0.0.1', String(opts.port ?? 0)];
  if (opts.oplogMaxEntries !== undefined) {
    if (!Number.isSafeInteger(opts.oplogMaxEntries) || opts.oplogMaxEntries < 1) {
      throw new ProjectordError(
        'EMBEDDED_MONGO_OPTION_INVALID',
        `oplogMaxEntries must be a whole number of at least 1, got ${opts.oplogMaxEntries}.`,
        { exitCode: 2 },
      );
    }
    args.push('--oplog-max-entries', String(opts.oplogMaxEntries));
  }
  if (opts.replicaSetName !== undefined) args.push('--replica-set', opts.replicaSetName);
  return args;
}

export async function startJavaServer(
  logger: Logger,
  opts: JavaServerOptions = {},
): Promise<RunningJavaServer> {
  const args = launcherArgs(opts);
  const classpath = prepareJavaServer(logger);
  const child = spawn(
    'java',
    ['-Xss1m', '-XX:+UseSerialGC', '-cp', classpath, MAIN_CLASS, ...args],
    // Its own process group: a Ctrl-C in the terminal goes to the foreground group, and the
    // server must outlive it so the demo can catch up and verify after the first Ctrl-C. It still
    // never outlives this process: it exits when its stdin closes (EmbeddedMongo.java).
    { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const address = await new Promise<string>((resolveAddr, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new ProjectordError(
          'EMBEDDED_MONGO_START_TIMEOUT',
          `mongo-java-server did not start: ${stderr}`,
        ),
      );
    }, opts.startTimeoutMs ?? 60_000);
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const m = /^LISTENING (.+)$/.exec(line.trim());
      if (m?.[1]) {
        clearTimeout(timer);
        resolveAddr(m[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new ProjectordError(
          'EMBEDDED_MONGO_EXITED',
          `mongo-java-server exited with code ${code} before listening: ${stderr.trim()}`,
          { exitCode: 2 },
        ),
      );
    });
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };
  return { uri: `mongodb://${address}/?directConnection=true`, process: child, stop };
}
