import type { Db } from 'mongodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { mongoUri, useTestDb } from '../helpers/mongo.js';

/**
 * `projectord demo --events 300` end to end in this process: the simulator, the whole daemon,
 * catching up, stopping and verify, against the run's MongoDB given as MONGODB_URI (what the
 * demo honours instead of starting its own).
 */
describe('projectord demo', () => {
  let db: Db;
  let dbName: string;
  beforeAll(async () => {
    ({ db, dbName } = await useTestDb('demo'));
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('simulates 300 events, catches up, stops, verifies every projection and checks every reaction', async () => {
    vi.stubEnv('MONGODB_URI', mongoUri());
    vi.stubEnv('PROJECTORD_MONGO_URI', undefined);
    vi.stubEnv('PROJECTORD_CONFIG', undefined);
    const demo = ['demo', '--events', '300', '--seed', '11'];
    const { code, out, err } = await runCli(['--db', dbName, '--log-level', 'error', ...demo]);
    expect({ code, err }, out).toEqual({ code: 0, err: '' });
    expect(out).toContain(`database ${dbName}`);
    expect(out).toMatch(/^simulated 300 events in/m);
    for (const projection of [
      'account-summary',
      'aggregate-snapshots',
      'balance-projections',
      'transaction-history',
    ]) {
      expect(out).toContain(`${projection}: matches event_store`);
    }
    for (const reaction of [
      'compliance',
      'transfer-saga',
      'compliance-review-saga',
      'fraud-saga',
    ]) {
      expect(out).toContain(`${reaction}: checked, not re-run:`);
    }
    expect(out).toContain('demo: verified — 300 events simulated');
    // The daemon ran for real: checkpoints of every module, and the verify collections are gone.
    expect(await db.collection('projector_checkpoints').countDocuments()).toBe(8);
    const names = (await db.listCollections().toArray()).map((c) => c.name);
    expect(names.filter((n) => n.includes('__verify_'))).toEqual([]);
  });
});
