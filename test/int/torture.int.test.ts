import { afterEach, describe, expect, it, onTestFailed } from 'vitest';
import { killAllInstances } from '../../torture/instances.js';
import { runTorture, type TortureResult } from '../../torture/run.js';
import { mongoUri } from '../helpers/mongo.js';
import { testSeed } from '../helpers/workload.js';

/**
 * The torture run (torture/run.ts, `npm run torture` for the full one) in a size that fits the
 * suite: the bank workload with every poison kind, two `projectord run` instances sharing all
 * built-in modules through a TCP proxy that cuts every connection about every second, three
 * SIGKILLs with restarts; then every end-state check must pass — transfers all Completed or
 * Compensated, money conserved, the dead letters exactly the poison events, one history row per
 * money event, every account at its last version, no daemon crash, a clean SIGTERM stop — and
 * `projectord verify` must exit 0 (it leaves out the events dead-lettered for each module).
 */
const seed = testSeed();

describe('torture (short)', () => {
  // A timed-out test never reaches runTorture's own cleanup: no daemon may outlive the test.
  afterEach(killAllInstances);

  it('400 events + poison, 2 instances, 3 kills, cuts every ~1 s: every check passes', async () => {
    const lines: string[] = [];
    const done: { result?: TortureResult } = {};
    onTestFailed(() => {
      console.error(`[torture] seed=${seed} (PROJECTORD_TEST_SEED=${seed} to repeat)`);
      console.error(lines.join('\n'));
      for (const [id, out] of Object.entries(done.result?.outputs ?? {}))
        console.error(`[torture] ${id} output (tail):\n${out.slice(-6000)}`);
    });
    const result = await runTorture({
      events: 400,
      kills: 3,
      seed,
      mongoUri: mongoUri(),
      cutEveryMs: 1000,
      poison: 7,
      instances: 2,
      accounts: 30,
      rate: 200,
      settleTimeoutMs: 32_000,
      stopTimeoutMs: 16_000,
      sagaTimeoutMs: 15_000,
      log: (line) => lines.push(line),
    });
    done.result = result;
    console.log(`[torture] ${result.summary}`);
    expect(result.stats.kills).toBe(3);
    expect(result.stats.cuts).toBeGreaterThan(0);
    expect(result.poison).toHaveLength(7);
    for (const v of result.verdicts) expect(v.ok, `${v.name}: ${v.detail}`).toBe(true);
  }, 58_000);
});
