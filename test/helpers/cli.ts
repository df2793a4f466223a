import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { packageRoot } from '../../src/lib/paths.js';
import { mongoUri } from './mongo.js';

/**
 * `projectord` in this process: `main()` with what it writes to stdout and stderr captured
 * instead of printed. The spies are removed before the result is returned, whatever `main()`
 * did, so an assertion failing afterwards prints normally.
 */
export interface CliResult {
  code: number;
  out: string;
  err: string;
}

export async function runCli(args: readonly string[]): Promise<CliResult> {
  let out = '';
  let err = '';
  const capture = (append: (s: string) => void) => (chunk: string | Uint8Array) => {
    append(String(chunk));
    return true;
  };
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture((s) => (out += s)));
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture((s) => (err += s)));
  try {
    const code = await main(['node', 'projectord', ...args]);
    return { code, out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

/** The flags of an operator command against the run's MongoDB and the file's database, logs off. */
export function operatorArgs(dbName: string, configFile?: string): string[] {
  const config = configFile === undefined ? [] : ['--config', configFile];
  return ['--mongo-uri', mongoUri(), '--db', dbName, ...config, '--log-level', 'silent'];
}

/**
 * A config file for the operator commands, removed after the calling file's tests. It loads the
 * event-counter projection and the fraud-saga reaction, which verify, rebuild and replay must
 * refuse to re-run.
 */
export function useCounterAndSagaConfig(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `projectord-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config.json');
  const modules = {
    paths: [
      join(packageRoot(), 'src', 'modules', 'testing', 'eventCounter.ts'),
      join(packageRoot(), 'projections', 'fraud-saga.ts'),
    ],
  };
  writeFileSync(file, JSON.stringify({ modules }));
  return file;
}
