import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../src/lib/paths.js';
import { summariseProfile } from '../lib/cpuProfile.js';
import { log, resultsDir, saveResult } from '../lib/results.js';

/**
 * Scenario 1c: CPU profiles of 1a and 1b (`node --cpu-prof`), summarised: the hottest
 * functions by self time, by inclusive time, and the time per pipeline stage. The raw
 * .cpuprofile files stay in bench-results/profiles/ (open them in Chrome DevTools).
 */
const target = fileURLToPath(new URL('./profileTarget.js', import.meta.url));

function profile(which: 'single' | 'bank') {
  const dir = join(resultsDir(), 'profiles', which);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`1c: profiling ${which}`);
  const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, target, which], {
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`profiling ${which} failed (exit ${String(r.status)})`);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no profile written in ${dir}`);
  const s = summariseProfile(join(dir, file), packageRoot());
  const js = s.functions.filter((f) => !f.where.startsWith('(native)'));
  return {
    file: join('bench-results', 'profiles', which, file),
    sampledMs: s.sampledMs,
    stages: s.stages,
    topSelf: s.functions.slice(0, 12),
    topSelfJs: js.slice(0, 10),
    topTotal: [...js].sort((a, b) => b.totalMs - a.totalMs).slice(0, 25),
  };
}

saveResult('engine-profile', { single: profile('single'), bank: profile('bank') });
