import { describe, expect, it } from 'vitest';
import { prepareEvent } from '../../src/dispatch/prepare.js';
import { createUpcasterRegistry, defineUpcaster } from '../../src/dispatch/upcast.js';
import type { EventData } from '../../src/events/types.js';
import { testEvent } from '../helpers/workload.js';

/** prepareEvent: the one way every reader turns a stored document into what modules see. */
describe('prepareEvent', () => {
  const raw = () => testEvent('agg-1', 1, new Date('2025-03-01T00:00:00Z'));

  it('moves the version even when an upcaster edits the data in place', () => {
    const inPlace = defineUpcaster<EventData, EventData>('TestEvent', '1.0', '2.0', (data) => {
      data.upgraded = true;
      return data;
    });
    const prepared = prepareEvent(raw(), createUpcasterRegistry([inPlace]));
    expect(prepared).toMatchObject({
      ok: true,
      event: { eventVersion: '2.0', eventData: { n: 1, upgraded: true } },
    });
  });

  it('returns the event as stored when no upcaster applies', () => {
    const other = defineUpcaster('OtherEvent', '1.0', '2.0', (data: EventData) => data);
    const prepared = prepareEvent(raw(), createUpcasterRegistry([other]));
    expect(prepared).toMatchObject({
      ok: true,
      event: { eventVersion: '1.0', eventData: { n: 1 } },
    });
  });

  it('names eventData when an upcaster throws', () => {
    const failing = defineUpcaster('TestEvent', '1.0', '2.0', (): EventData => {
      throw new Error('no amount');
    });
    expect(prepareEvent(raw(), createUpcasterRegistry([failing]))).toEqual({
      ok: false,
      field: 'eventData',
      message: 'upcasting failed: no amount',
    });
  });
});
