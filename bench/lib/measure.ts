import { PerformanceObserver } from 'node:perf_hooks';
import { loadavg } from 'node:os';

/**
 * Wall time, this process's CPU time and the time V8 spent in garbage collection over one
 * call. On a shared 2-core machine wall time depends on the neighbours; CPU time per event is
 * the steadier figure of what the code costs, so both are reported.
 */
export interface Measured<T> {
  value: T;
  ms: number;
  cpuMs: number;
  gcMs: number;
  load1: number;
}

export async function measure<T>(fn: () => Promise<T>): Promise<Measured<T>> {
  let gcMs = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration;
  });
  obs.observe({ entryTypes: ['gc'] });
  const load1 = loadavg()[0] ?? 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // GC entries are delivered asynchronously: let the observer see the last ones.
  await new Promise((r) => setImmediate(r));
  obs.disconnect();
  return { value, ms, cpuMs: (cpu.user + cpu.system) / 1000, gcMs, load1 };
}
