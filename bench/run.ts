import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { log, saveResult } from './lib/results.js';
import { render } from './report/render.js';

/**
 * `npm run bench` (part `all`) and `npm run bench:engine` (part `engine`): runs each scenario
 * in a process of its own (a clean heap and JIT per scenario, and the memory scenario measures
 * only itself), goes on past a failed one, then renders docs/BENCHMARKS.md. Exits 1 when any
 * scenario failed.
 */
const ENGINE = ['engine/singleUpsert.js', 'engine/bank.js', 'engine/profile.js'];
const WIRE = [
  'wire/throughput.js',
  'wire/bankThroughput.js',
  'wire/memory.js',
  'wire/latency.js',
  'wire/recovery.js',
  'wire/rebuild.js',
];

const part = process.argv[2] === 'engine' ? 'engine' : 'all';
const scripts = part === 'engine' ? ENGINE : [...ENGINE, ...WIRE];
const startedAt = new Date().toISOString();
const load1AtStart = loadavg()[0] ?? 0;
const scenarios: { script: string; seconds: number; ok: boolean }[] = [];
for (const script of scripts) {
  log(`── ${script}`);
  const started = performance.now();
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(script, import.meta.url))], {
    stdio: 'inherit',
  });
  const seconds = (performance.now() - started) / 1000;
  scenarios.push({ script, seconds, ok: r.status === 0 });
  log(
    `${script}: ${r.status === 0 ? 'done' : `FAILED (exit ${String(r.status)})`} in ${seconds.toFixed(0)} s`,
  );
}
saveResult('run', {
  part,
  startedAt,
  finishedAt: new Date().toISOString(),
  load1AtStart,
  scenarios,
});
await render();
if (scenarios.some((s) => !s.ok)) process.exit(1);
