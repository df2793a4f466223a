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

  it('confirms every event by storage id when asked to, read-ahead ids in one lookup', async () => {
    const stored = new Set(['s1', 's2', 's3']);
    const lookups: unknown[][] = [];
    const g = createPhantomGuard({
      storedEventId: () => Promise.reject(new Error('not used when confirming every event')),
      confirmEvery: () => Promise.resolve(true),
      storedIds: (ids) => {
        lookups.push([...ids]);
        return Promise.resolve(ids.filter((id) => stored.has(String(id))));
      },
    });
    g.warm('s1', () => ['s2']); // before the first answer: not known yet whether to confirm
    expect(await g.isStored(ev('a', 1, 'e1'), 's1')).toBe(true);
    g.warm('s2', () => ['phantom', 's3']);
    // The next event's answer is on the way already: no second query, ahead() not even asked.
    g.warm('phantom', () => {
      throw new Error('ahead read although phantom was looked up');
    });
    expect(await g.isStored(ev('a', 2, 'e2'), 's2')).toBe(true);
    expect(await g.isStored(ev('a', 2, 'e2x'), 'phantom')).toBe(false);
    expect(await g.isStored(ev('a', 3, 'e3'), 's3')).toBe(true);
    expect(await g.isStored(ev('a', 4, 'e4'), undefined)).toBe(false);
    expect(lookups).toEqual([['s1'], ['s2', 'phantom', 's3']]);
  });

  it('a failed read-ahead lookup fails the events that wait on it, and nothing else', async () => {
    let fail = false;
    const g = createPhantomGuard({
      storedEventId: () => Promise.resolve(undefined),
      confirmEvery: () => Promise.resolve(true),
      storedIds: (ids) => (fail ? Promise.reject(new Error('reset')) : Promise.resolve(ids)),
    });
    expect(await g.isStored(ev('a', 1, 'e1'), 'x1')).toBe(true);
    fail = true;
    g.warm('x2', () => ['x3']);
    fail = false;
    await expect(g.isStored(ev('a', 2, 'e2'), 'x2')).rejects.toThrow('reset');
    // x3 was in the failed lookup: it is asked again (a new epoch re-reads it), not failed again.
    expect(await g.isStored(ev('a', 3, 'e3'), 'x3')).toBe(true);
    expect(await g.isStored(ev('a', 4, 'e4'), 'x4')).toBe(true);
  });
});
