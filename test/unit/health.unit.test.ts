import { describe, expect, it } from 'vitest';
import {
  evaluateModuleHealth,
  isReady,
  type ModuleHealthInput,
} from '../../src/observability/health.js';

const now = new Date('2025-01-01T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const base: ModuleHealthInput = {
  mode: 'live',
  lagMs: 100,
  maxLagMs: 30_000,
  lastProgressAt: ago(1000),
  pendingEvents: 0,
  stuckAfterMs: 60_000,
  now,
};

describe('evaluateModuleHealth (invariant 10: stuck is not quiet)', () => {
  const table: [string, Partial<ModuleHealthInput>, boolean, boolean, RegExp | null][] = [
    ['live, small lag, nothing pending', {}, true, false, null],
    [
      'quiet: last event a day old, nothing pending',
      { lagMs: 86_400_000, lastProgressAt: ago(86_400_000) },
      true,
      false,
      null,
    ],
    ['never applied anything, nothing pending', { lagMs: null }, true, false, null],
    ['work waiting, progress recent, small lag', { pendingEvents: 10 }, true, false, null],
    [
      'work waiting, no progress for stuckAfterMs',
      { pendingEvents: 3, lastProgressAt: ago(60_000) },
      false,
      true,
      /^stuck: 3 event\(s\) waiting and no progress for 60\.0 s \(limit 60\.0 s\)$/,
    ],
    [
      'work waiting, lag over the bound',
      { pendingEvents: 3, lagMs: 45_000 },
      false,
      false,
      /^lagging: 45\.0 s behind with 3 event\(s\) waiting \(limit 30\.0 s\)$/,
    ],
    ['lag exactly at the bound', { pendingEvents: 3, lagMs: 30_000 }, true, false, null],
    ['catching up', { mode: 'catching-up', pendingEvents: 5 }, false, false, /^catching-up$/],
    ['rebuilding', { mode: 'rebuilding' }, false, false, /^rebuilding$/],
    ['parked', { mode: 'parked' }, false, false, /^parked$/],
    [
      'stuck while catching up reports stuck',
      { mode: 'catching-up', pendingEvents: 1, lastProgressAt: ago(120_000) },
      false,
      true,
      /^stuck/,
    ],
    [
      'progress in the future (clock skew) is not stuck',
      { pendingEvents: 1, lastProgressAt: ago(-5000) },
      true,
      false,
      null,
    ],
  ];
  it.each(table)('%s', (_name, over, ready, stuck, reason) => {
    const result = evaluateModuleHealth({ ...base, ...over });
    expect(result.ready).toBe(ready);
    expect(result.stuck).toBe(stuck);
    if (reason === null) expect(result.reason).toBeNull();
    else expect(result.reason).toMatch(reason);
  });

  it.each([
    ['maxLagMs', { maxLagMs: 0 }],
    ['stuckAfterMs', { stuckAfterMs: Number.NaN }],
    ['pendingEvents', { pendingEvents: -1 }],
    ['pendingEvents', { pendingEvents: 1.5 }],
    ['lagMs', { lagMs: Number.NaN }],
    ['lastProgressAt', { lastProgressAt: new Date('nope') }],
  ] as [string, Partial<ModuleHealthInput>][])('rejects a bad %s', (field, over) => {
    expect(() => evaluateModuleHealth({ ...base, ...over })).toThrow(new RegExp(field));
  });
});

describe('isReady', () => {
  const ok = { name: 'a', ready: true, reason: null };
  const bad = { name: 'b', ready: false, reason: 'catching-up' };
  it('is ready only when every module is and nothing marks the instance', () => {
    expect(isReady({ modules: [ok] })).toBe(true);
    expect(isReady({ modules: [] })).toBe(true);
    expect(isReady({ modules: [ok, bad] })).toBe(false);
    expect(isReady({ modules: [ok], notReadyReason: 'starting' })).toBe(false);
  });
});
