import { execSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/lib/paths.js';

/**
 * Each scenario writes its figures to bench-results/<name>.json (git-ignored); the report is
 * rendered from whatever files are there, so `bench:engine` refreshes only its own sections.
 */
/** What saveResult adds to every result. */
export interface Saved {
  savedAt: string;
  /** loadavg() when the scenario finished. */
  load?: number[];
  /** `git rev-parse --short HEAD` when the scenario ran, `+` when the tree had changes. */
  commit?: string;
}

function currentCommit(): string {
  try {
    const opts = { cwd: packageRoot(), encoding: 'utf8' as const };
    const head = execSync('git rev-parse --short HEAD', opts).trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', opts).trim() !== '';
    return dirty ? `${head}+` : head;
  } catch {
    return '?'; // not a git checkout
  }
}

export const resultsDir = (): string => join(packageRoot(), 'bench-results');

export function saveResult(name: string, data: unknown): void {
  mkdirSync(resultsDir(), { recursive: true });
  const file = join(resultsDir(), `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      // The 5-minute load average at the end roughly covers the scenario: how shared the CPU was.
      {
        savedAt: new Date().toISOString(),
        load: loadavg(),
        commit: currentCommit(),
        ...(data as object),
      },
      null,
      2,
    ),
  );
  process.stdout.write(`[bench] wrote ${file}\n`);
}

export function loadResult<T>(name: string): (T & Saved) | undefined {
  const file = join(resultsDir(), `${name}.json`);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as T & Saved;
}

export function log(line: string): void {
  process.stdout.write(`[bench] ${line}\n`);
}
