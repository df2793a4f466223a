import { describe, expect, it } from 'vitest';
import { createPhantomGuard } from '../../src/dispatch/phantoms.js';
import type { ProjectorEvent } from '../../src/events/types.js';

const ev = (aggregateId: string, version: number, eventId: string): ProjectorEvent => ({
  eventId,
  aggregateId,
  aggregateType: 'T',
  eventType: 'E',
  eventVersion: '1.0',
  version,
  eventTimestamp: new Date(0),
  eventData: {},
  eventMetadata: {},
});

describe('phantom guard', () => {
  const store = new Map([
    ['a:1', 'real-1'],
    ['a:2', 'real-2'],
  ]);
  let lookups = 0;
  const guard = () =>
    createPhantomGuard({
      storedEventId: (aggregateId, version) => {
        lookups++;
        return Promise.resolve(store.get(`${aggregateId}:${version}`));
      },
    });

  it('passes events in version order without asking the store', async () => {
    const g = guard();
    lookups = 0;
    expect(await g.isStored(ev('a', 1, 'real-1'))).toBe(true);
    expect(await g.isStored(ev('a', 2, 'real-2'))).toBe(true);
    expect(await g.isStored(ev('a', 2, 'real-2'))).toBe(true);
    expect(lookups).toBe(0);
  });

  it('drops a second event id at a version already seen when the store holds the other one', async () => {
    const g = guard();
    await g.isStored(ev('a', 2, 'real-2'));
    expect(await g.isStored(ev('a', 2, 'refused-insert'))).toBe(false);
    expect(await g.isStored(ev('a', 1, 'real-1'))).toBe(true);
  });
});
