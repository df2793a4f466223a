import { describe, expect, it } from 'vitest';
import { ProjectordError } from '../../src/lib/errors.js';
import { createProgress } from '../../src/replay/progress.js';
import {
  describeFilter,
  parseReplayFilter,
  selectionFilter,
} from '../../src/replay/replayFilter.js';
import { findModule, selectProjections } from '../../src/replay/select.js';
import { defineProjection, defineReaction } from '../../src/modules/types.js';

function usage(fn: () => unknown): ProjectordError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProjectordError);
    expect((e as ProjectordError).exitCode).toBe(2);
    return e as ProjectordError;
  }
  throw new Error('expected a usage error');
}

describe('replay filter flags', () => {
  it('parses dates, lists and combines them', () => {
    const f = parseReplayFilter({
      from: '2025-03-01',
      to: '2025-03-02T12:00:00Z',
      types: 'FundsDebited, FundsCredited,',
      aggregates: 'a,b,a',
    });
    expect(f).toEqual({
      from: new Date('2025-03-01T00:00:00Z'),
      to: new Date('2025-03-02T12:00:00Z'),
      types: ['FundsDebited', 'FundsCredited'],
      aggregates: ['a', 'b'],
    });
    expect(describeFilter(f)).toContain('aggregates a,b');
    expect(selectionFilter(f, ['FundsDebited'])).toEqual({
      $and: [
        { eventType: { $in: ['FundsDebited'] } },
        { eventTimestamp: { $gte: f.from } },
        { eventTimestamp: { $lt: f.to } },
        { eventType: { $in: ['FundsDebited', 'FundsCredited'] } },
        { aggregateId: { $in: ['a', 'b'] } },
      ],
    });
  });

  it('keeps values as values: an operator-looking id is just an $in element', () => {
    const f = parseReplayFilter({ aggregates: '{"$gt": ""}' });
    expect(selectionFilter(f, ['X']).$and).toContainEqual({
      aggregateId: { $in: ['{"$gt": ""}'] },
    });
  });

  it.each([
    [{ from: 'yesterday' }, '--from must be an ISO 8601 date'],
    [{ to: '2025-13-45' }, '--to must be an ISO 8601 date'],
    [{ from: '1' }, '--from must be an ISO 8601 date'],
    [{ types: ' , ' }, '--types must list at least one value'],
    [{}, 'needs a selection'],
    [{ from: '2025-03-02', to: '2025-03-01' }, 'must be before --to'],
  ])('rejects %j with exit 2', (flags, message) => {
    expect(usage(() => parseReplayFilter(flags)).message).toContain(message);
  });
});

describe('module selection', () => {
  const projection = defineProjection({
    name: 'p',
    version: 1,
    handles: ['X'],
    collections: ['p_view'],
    apply: () => undefined,
  });
  const reaction = defineReaction({
    name: 'r',
    version: 1,
    handles: ['X'],
    collections: ['r_state'],
    react: () => undefined,
  });

  it('refuses reactions: they are never re-run', () => {
    expect(usage(() => findModule([projection, reaction], 'r', 'rebuild')).message).toContain(
      'reactions are never re-run',
    );
    expect(selectProjections([projection, reaction], undefined, 'verify')).toEqual([projection]);
  });

  it('lists the loaded modules when the name is unknown', () => {
    expect(usage(() => findModule([projection, reaction], 'nope', 'verify')).message).toContain(
      'Loaded modules: p, r',
    );
  });
});

describe('progress', () => {
  it('writes plain lines at most once per interval when the output is no terminal', () => {
    let t = 0;
    let text = '';
    const p = createProgress({
      label: 'rebuild m',
      total: 100,
      now: () => t,
      intervalMs: 1000,
      out: { write: (s: string) => ((text += s), true) } as unknown as NodeJS.WritableStream,
    });
    t = 500;
    p.update(10);
    expect(text).toBe('');
    t = 1000;
    p.update(50);
    expect(text).toBe('rebuild m: 50 of ~100 events (50%), 50 events/s\n');
    t = 2000;
    p.update(150); // more than estimated: the total grows
    expect(text).toContain('150 of ~150 events (100%)');
    p.finish();
    p.finish();
    expect(text.trim().split('\n')).toHaveLength(3);
    expect(text).toContain('rebuild m: 150 events in 2.0 s (75 events/s)');
  });
});

describe('progress on a terminal', () => {
  it('draws a cli-progress bar with the events, the rate and the ETA', () => {
    let t = 0;
    let text = '';
    const tty = {
      isTTY: true,
      columns: 160,
      write: (s: string) => ((text += s), true),
    } as unknown as NodeJS.WritableStream;
    const p = createProgress({ label: 'rebuild m', total: 200, now: () => t, out: tty });
    t = 2000;
    p.update(50);
    p.finish();
    expect(text).toContain('rebuild m [');
    expect(text).toContain('50/200 events | 25 events/s | ETA');
  });
});
