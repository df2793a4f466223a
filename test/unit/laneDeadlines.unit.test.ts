import { describe, expect, it } from 'vitest';
import type { ProjectorEvent } from '../../src/events/types.js';
import { createLane, StoppedError } from '../../src/lanes/lane.js';
import { defineReaction } from '../../src/modules/types.js';
import { silentLogger } from '../../src/observability/logger.js';

/**
 * A deadline queued in a lane that stops before running it (a replan after a lease change, a
 * shutdown) must be rejected: the deadline scheduler awaits every fire, so one that never settles
 * holds its in-flight slot (and its claim, renewed) for good, and the scheduler's stop() — hence
 * the daemon's SIGTERM — never returns. Found by the torture run (seed 4242).
 */
const reaction = defineReaction({
  name: 'r',
  version: 1,
  handles: ['E'],
  collections: ['c'],
  react: () => undefined,
});

const event: ProjectorEvent = {
  eventId: 'a-1',
  aggregateId: 'a',
  aggregateType: 'T',
  eventType: 'E',
  eventVersion: '1.0',
  version: 1,
  eventTimestamp: new Date(0),
  eventData: {},
  eventMetadata: {},
};

describe('lane deadlines', () => {
  it('rejects a queued deadline with StoppedError when the lane stops before running it', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    let ran = false;
    const lane = createLane({
      module: reaction,
      maxInFlight: 10,
      concurrency: 2,
      retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
      execute: async () => {
        await blocked;
        return 'applied';
      },
      executeDeadline: () => {
        ran = true;
        return Promise.resolve();
      },
      fetchVersions: () => Promise.resolve([]),
      fetchBySourceId: () => Promise.resolve(undefined),
      logger: silentLogger(),
    });
    await lane.push({ event, raw: {} });
    const fire = lane.pushDeadline({ id: 'd', key: 'a', dueAt: new Date(0), payload: {} });
    const outcome = fire.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    const stopped = lane.stop();
    release();
    await stopped;
    const settled = await Promise.race([
      outcome,
      new Promise((r) => setTimeout(() => r('never settled'), 1000)),
    ]);
    expect(settled).toBeInstanceOf(StoppedError);
    expect(ran).toBe(false);
  });
});
