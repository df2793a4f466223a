import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/lib/paths.js';

/**
 * Each scenario writes its figures to bench-results/<name>.json (git-ignored); the report is
 * rendered from whatever files are there, so `bench:engine` refreshes only its own sections.
 */
export const resultsDir = (): string => join(packageRoot(), 'bench-results');

export function saveResult(name: string, data: unknown): void {
  mkdirSync(resultsDir(), { recursive: true });
  const file = join(resultsDir(), `${name}.json`);
  writeFileSync(
    file,
    JSON.stringify({ savedAt: new Date().toISOString(), ...(data as object) }, null, 2),
  );
  process.stdout.write(`[bench] wrote ${file}\n`);
}

export function loadResult<T>(name: string): (T & { savedAt: string }) | undefined {
  const file = join(resultsDir(), `${name}.json`);
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as T & { savedAt: string };
}

export function log(line: string): void {
  process.stdout.write(`[bench] ${line}\n`);
}
