import type { Db } from 'mongodb';
import { beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { appendEvent } from '../../src/events/eventStore.js';
import {
  EVENT_COUNTER_MODULE,
  EVENT_COUNTER_VIEW,
  POISON_MESSAGE,
} from '../../src/modules/testing/eventCounter.js';
import { daemonConfig, readCheckpoint, useDaemons } from '../helpers/daemon.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';
import { expectedEventCounter, waitForConvergence } from '../helpers/recompute.js';
import { startWorkload, testSeed } from '../helpers/workload.js';

/**
 * The built-in `event-counter` module under `projectord run`: every TestEvent counted once,
 * and a poison event dead-lettered after its retries, parking its own aggregate while the other
 * aggregates go on (DESIGN.md invariant 6).
 */
const seed = testSeed();
const RETRY = { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 };

describe('event-counter module under the daemon', () => {
  const daemons = useDaemons();
  let db: Db;
  let dbName: string;
  beforeAll(async () => {
    ({ db, dbName } = await useTestDb('evcount'));
  });

  it('the daemon test config is a valid projectord configuration', () => {
    const config = loadConfig({ env: {}, flags: daemonConfig({ retry: RETRY }) });
    expect(config.modules.paths).toHaveLength(1);
    expect(config.checkpoint).toEqual({ everyEvents: 50, everyMs: 100 });
    expect(config.retry).toEqual(RETRY);
  });

  it('counts every event once; a poison event is dead-lettered and parks only its aggregate', async () => {
    const daemon = daemons.create({ mongoUri: mongoUri(), dbName, config: { retry: RETRY } });
    onTestFailed(() => {
      console.error(`[eventCounter] seed=${seed}; daemon output:\n${daemon.output()}`);
    });
    await startWorkload(db, { events: 300, aggregates: 6, seed, aggregatePrefix: 'ok' }).done;
    const base = { aggregateType: 'Test', eventData: {} };
    await appendEvent(db, { ...base, aggregateId: 'poisoned', eventType: 'TestEvent' });
    const poison = await appendEvent(db, {
      ...base,
      aggregateId: 'poisoned',
      eventType: 'TestPoison',
    });
    await appendEvent(db, { ...base, aggregateId: 'poisoned', eventType: 'TestEvent' });
    const flagged = await appendEvent(db, {
      ...base,
      aggregateId: 'flagged',
      eventType: 'TestEvent',
      eventData: { poison: true },
    });

    await daemon.start();
    // Healthy aggregates keep going after the poison, in the live stream too.
    for (let i = 0; i < 20; i++) {
      await appendEvent(db, { ...base, aggregateId: `ok-${i % 6}`, eventType: 'TestEvent' });
    }
    await waitForConvergence(db, {
      timeoutMs: 60_000,
      check: () => daemon.assertRunning(),
      context: `seed ${seed}`,
    });
    const expected = await expectedEventCounter(db);
    expect(expected.total).toBe(321);
    expect([...expected.parked.keys()].sort()).toEqual(['flagged', 'poisoned']);
    const view = db.collection<{ _id: string; count: number }>(EVENT_COUNTER_VIEW);
    expect(await view.findOne({ _id: 'poisoned' })).toMatchObject({ count: 1 });
    expect(await view.findOne({ _id: 'flagged' })).toBeNull();

    const deadLetters = db.collection('projector_dead_letters');
    for (const bad of [poison, flagged]) {
      const letter = await waitFor(
        () => deadLetters.findOne({ module: EVENT_COUNTER_MODULE, eventId: bad.eventId }),
        { timeoutMs: 30_000, what: `dead letter for ${bad.eventId}` },
      );
      // A redelivery of the parked event (at-least-once) must not overwrite its dead letter.
      expect(letter, JSON.stringify(letter)).toMatchObject({
        status: 'parked',
        attempts: RETRY.maxAttempts,
      });
      expect(JSON.stringify(letter)).toContain(POISON_MESSAGE);
    }
    expect(await readCheckpoint(db, EVENT_COUNTER_MODULE)).not.toBeNull();
    daemon.assertRunning();
  }, 120_000);
});
