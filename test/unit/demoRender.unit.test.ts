import { describe, expect, it } from 'vitest';
import { formatLag, liveLines, moduleTable, plainLine, sagaLine } from '../../src/demo/render.js';
import { judgeSettled } from '../../src/demo/settle.js';
import type { DemoSnapshot, ModuleRow } from '../../src/demo/snapshot.js';

const T0 = new Date('2025-03-01T12:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

function row(module: string, over: Partial<ModuleRow> = {}): ModuleRow {
  return {
    module,
    mode: 'live',
    applied: 10,
    pending: 0,
    lagMs: 0,
    deadLetters: 0,
    checkpointEventAt: at(5),
    ...over,
  };
}

function snapshot(over: Partial<DemoSnapshot> = {}): DemoSnapshot {
  return {
    at: at(6),
    modules: [row('account-summary'), row('transfer-saga')],
    events: 42,
    newestEventAt: at(5),
    sagaStates: {},
    dueDeadlines: 0,
    ...over,
  };
}

describe('demo picture', () => {
  it('lays the modules out in aligned columns under a header', () => {
    const lines = moduleTable([
      row('account-summary', { applied: 1234, pending: 7, lagMs: 2500, deadLetters: 1 }),
      row('fraud-saga', { mode: 'catching-up', lagMs: null }),
    ]);
    expect(lines).toEqual([
      'module                   mode           applied  pending      lag  dead letters',
      'account-summary          live              1234        7     2.5s             1',
      'fraud-saga               catching-up         10        0        ?             0',
    ]);
  });

  it('shows lag in seconds, then minutes', () => {
    expect(formatLag(0)).toBe('0.0s');
    expect(formatLag(59_949)).toBe('59.9s');
    expect(formatLag(125_000)).toBe('2m5s');
    expect(formatLag(null)).toBe('?');
  });

  it('lists saga states in the order a transfer goes through them', () => {
    expect(sagaLine({})).toBe('transfer sagas: none yet');
    expect(sagaLine({ Compensated: 1, Completed: 9, CreditPending: 2, Odd: 1 })).toBe(
      'transfer sagas: CreditPending 2 · Completed 9 · Compensated 1 · Odd 1',
    );
  });

  it('draws progress, phase, table and sagas on a terminal, one line elsewhere', () => {
    const view = {
      phase: 'catching up' as const,
      elapsedMs: 12_340,
      written: 300,
      target: 300,
      ratePerSec: 0,
      snapshot: snapshot({
        modules: [row('a', { pending: 3, deadLetters: 2 }), row('b')],
        sagaStates: { Completed: 4 },
      }),
      waitingFor: 'a to finish pending work',
    };
    const lines = liveLines(view);
    expect(lines[0]).toBe('simulated 300/300 events (0/s) · 12.3s');
    expect(lines[1]).toBe(
      'catching up · event_store 42 events · waiting for a to finish pending work',
    );
    expect(lines).toHaveLength(2 + 3 + 1);
    expect(lines.at(-1)).toBe('transfer sagas: Completed 4');
    expect(plainLine(view)).toBe(
      'simulated 300/300 events (0/s) · 12.3s · catching up · event_store 42 events · ' +
        'waiting for a to finish pending work · modules idle 1/2, pending 3, dead letters 2 · ' +
        'transfer sagas: Completed 4',
    );
  });
});

describe('caught up', () => {
  const settled = snapshot();

  it('is settled when every module is idle, covers the newest event and nothing more comes', () => {
    expect(judgeSettled(settled, snapshot(), 2)).toEqual({ settled: true });
  });

  it.each<[string, DemoSnapshot, DemoSnapshot | undefined, number, string]>([
    ['a module has not started', settled, settled, 3, 'modules to start (2 of 3 running)'],
    [
      'work is pending',
      snapshot({ modules: [row('account-summary', { pending: 1 }), row('transfer-saga')] }),
      settled,
      2,
      'account-summary to finish pending work',
    ],
    [
      'a module is still catching up',
      snapshot({ modules: [row('account-summary', { mode: 'catching-up' })] }),
      settled,
      1,
      'account-summary to finish pending work',
    ],
    [
      'a checkpoint is behind the newest event',
      snapshot({ modules: [row('account-summary', { checkpointEventAt: at(4) })] }),
      settled,
      1,
      'account-summary to checkpoint the newest event',
    ],
    [
      'a module has no checkpoint yet',
      snapshot({ modules: [row('account-summary', { checkpointEventAt: null })] }),
      settled,
      1,
      'account-summary to checkpoint the newest event',
    ],
    [
      'a saga deadline falls due soon',
      snapshot({ dueDeadlines: 2 }),
      settled,
      2,
      '2 saga deadline(s) falling due',
    ],
    [
      'the store grew since the last look',
      settled,
      snapshot({ events: 41 }),
      2,
      'event_store to stop growing',
    ],
    ['there is no earlier look', settled, undefined, 2, 'event_store to stop growing'],
  ])('waits when %s', (_what, current, previous, expected, waitingFor) => {
    expect(judgeSettled(current, previous, expected)).toEqual({ settled: false, waitingFor });
  });

  it('is settled on an empty store once the modules run', () => {
    const empty = snapshot({
      events: 0,
      newestEventAt: null,
      modules: [row('a', { checkpointEventAt: null })],
    });
    expect(judgeSettled(empty, empty, 1)).toEqual({ settled: true });
  });
});
