import { sleep } from '../src/lanes/backoff.js';
import type { TcpProxy } from '../test/helpers/tcpProxy.js';
import type { Instance } from './instances.js';

/**
 * The faults of the torture run, each driven by its own seeded random sequence so a seed repeats
 * the same plan. Kills and poison are placed by workload progress (events written), so they land
 * all through the run whatever the server's speed; cuts come by time.
 */
export interface ChaosStats {
  kills: number;
  cuts: number;
}

/** `count` sorted points spread at random over (2 %, 98 %) of `total`. */
export function progressPoints(rng: () => number, count: number, total: number): number[] {
  return Array.from({ length: count }, () => Math.floor(total * (0.02 + 0.96 * rng()))).sort(
    (a, b) => a - b,
  );
}

/** Waits until `progress()` reaches `point`, or the signal aborts (false). */
async function reach(point: number, progress: () => number, signal: AbortSignal): Promise<boolean> {
  while (progress() < point) {
    if (signal.aborted) return false;
    await sleep(50, signal);
  }
  return !signal.aborted;
}

/**
 * SIGKILLs a random running instance at each point, then starts it again after a random delay
 * (up to 1.5 s), so the survivor takes over or the restarted one resumes its own leases.
 */
export async function runKills(o: {
  instances: readonly Instance[];
  points: readonly number[];
  progress: () => number;
  rng: () => number;
  signal: AbortSignal;
  stats: ChaosStats;
  log: (line: string) => void;
}): Promise<void> {
  for (const point of o.points) {
    if (!(await reach(point, o.progress, o.signal))) return;
    const running = o.instances.filter((i) => i.running);
    const victim = running[Math.floor(o.rng() * running.length)];
    if (!victim) continue;
    await victim.kill();
    o.stats.kills += 1;
    o.log(`kill #${o.stats.kills} of ${victim.id} at ${o.progress()} events`);
    await sleep(Math.floor(o.rng() * 1500), o.signal);
    victim.start();
    // A little life before the next kill, which may hit this one while it starts up.
    await sleep(200 + Math.floor(o.rng() * 1000), o.signal);
  }
}

/**
 * Resets every proxied connection every `everyMs` (±50 %) until the signal aborts. A cut finds
 * nothing to reset while every instance is down (killed, restarting); a run whose faults were
 * over before any cut landed gets one at the end (within 10 s), so every run has cuts.
 */
export async function runCuts(o: {
  proxy: TcpProxy;
  everyMs: number;
  rng: () => number;
  signal: AbortSignal;
  stats: ChaosStats;
}): Promise<void> {
  while (!o.signal.aborted) {
    await sleep(Math.floor(o.everyMs * (0.5 + o.rng())), o.signal);
    if (o.signal.aborted) break;
    if (o.proxy.cutAll() > 0) o.stats.cuts += 1;
  }
  for (const deadline = Date.now() + 10_000; o.stats.cuts === 0 && Date.now() < deadline;) {
    if (o.proxy.cutAll() > 0) o.stats.cuts += 1;
    else await sleep(50);
  }
}

/** Calls `append(n)` for the nth poison event at each point of the workload's progress. */
export async function runPoison(o: {
  points: readonly number[];
  progress: () => number;
  signal: AbortSignal;
  append: (n: number) => Promise<void>;
}): Promise<void> {
  for (const [n, point] of o.points.entries()) {
    if (!(await reach(point, o.progress, o.signal))) return;
    await o.append(n);
  }
}
