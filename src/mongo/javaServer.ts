import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ProjectordError } from '../lib/errors.js';
import { packageRoot } from '../lib/paths.js';
import type { Logger } from '../observability/logger.js';

/**
 * The embedded fallback: mongo-java-server (in-memory backend, oplog on, wire version 17),
 * resolved from Maven Central into a git-ignored cache on first use and started through our
 * launcher (tools/mongo-java-server/src/EmbeddedMongo.java). The launcher exits when its stdin
 * closes, so the server never outlives this process, even after a SIGKILL.
 */
const TOOL_DIR = join(packageRoot(), 'tools', 'mongo-java-server');

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

/** Resolves the jars and compiles the launcher when missing or stale; returns the classpath. */
export function prepareJavaServer(logger: Logger): string {
  const cache = cacheDir();
  const lib = join(cache, 'lib');
  const classes = join(cache, 'classes');
  const pom = join(TOOL_DIR, 'pom.xml');
  const source = join(TOOL_DIR, 'src', 'EmbeddedMongo.java');
  if (!existsSync(lib) || newest(lib) < statSync(pom).mtimeMs) {
    need('java', ['-version']);
    need('mvn', ['-v']);
    logger.info({ cache: lib }, 'resolving mongo-java-server from Maven Central (first use only)');
    mkdirSync(lib, { recursive: true });
    const r = spawnSync(
      'mvn',
      ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) {
      throw new ProjectordError(
        'EMBEDDED_MONGO_RESOLVE_FAILED',
        `Maven could not resolve mongo-java-server (exit ${r.status}): ` +
          `${(r.stdout + r.stderr).trim().slice(-800)}. Check access to Maven Central, or set MONGODB_URI.`,
        { exitCode: 2 },
      );
    }
  }
  const compiled = join(classes, 'EmbeddedMongo.class');
  if (!existsSync(compiled) || statSync(compiled).mtimeMs < statSync(source).mtimeMs) {
    need('javac', ['-version']);
    mkdirSync(classes, { recursive: true });
    const r = spawnSync('javac', ['-d', classes, '-cp', join(lib, '*'), source], {
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      throw new ProjectordError(
        'EMBEDDED_MONGO_COMPILE_FAILED',
        `Compiling the embedded MongoDB launcher failed: ${r.stderr.trim().slice(-800)}`,
        { exitCode: 2 },
      );
    }
  }
  return `${classes}${process.platform === 'win32' ? ';' : ':'}${join(lib, '*')}`;
}

export interface RunningJavaServer {
  uri: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startJavaServer(
  logger: Logger,
  opts: { host?: string; port?: number; startTimeoutMs?: number } = {},
): Promise<RunningJavaServer> {
  const classpath = prepareJavaServer(logger);
  const host = opts.host ?? '127.0.0.1';
  const child = spawn(
    'java',
    ['-Xss1m', '-XX:+UseSerialGC', '-cp', classpath, 'EmbeddedMongo', host, String(opts.port ?? 0)],
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
