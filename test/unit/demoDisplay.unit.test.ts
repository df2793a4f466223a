import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createDisplay } from '../../src/demo/display.js';
import type { DemoView } from '../../src/demo/render.js';
import type { DemoSnapshot } from '../../src/demo/snapshot.js';

/** The demo's two outputs: a redrawn picture on a terminal, periodic lines elsewhere. */
function sink(tty: boolean): { stream: NodeJS.WriteStream; text(): string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  Object.assign(stream, { isTTY: tty, columns: 120 });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

const snapshot: DemoSnapshot = {
  at: new Date('2025-03-01T12:00:00Z'),
  modules: [
    {
      module: 'account-summary',
      mode: 'live',
      applied: 77,
      pending: 3,
      lagMs: 1200,
      deadLetters: 1,
      checkpointEventAt: null,
    },
  ],
  events: 80,
  newestEventAt: null,
  sagaStates: { Completed: 5 },
  dueDeadlines: 0,
};

const view = (elapsedMs: number, phase: DemoView['phase'] = 'simulating'): DemoView => ({
  phase,
  elapsedMs,
  written: 80,
  target: 300,
  ratePerSec: 40,
  snapshot,
});

describe('demo display', () => {
  it('elsewhere: a line per period, and at once when the phase changes', () => {
    const out = sink(false);
    const display = createDisplay({ out: out.stream, tty: false, plainEveryMs: 2000 });
    for (const ms of [0, 500, 1999, 2000, 2100]) display.show(view(ms));
    display.show(view(2200, 'catching up'));
    display.print('verify (daemon stopped):');
    display.stop();
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^simulated 80\/300 events \(40\/s\) · 0\.0s · simulating/);
    expect(lines[1]).toContain('· 2.0s ·');
    expect(lines[2]).toContain('catching up');
    expect(lines[3]).toBe('verify (daemon stopped):');
  });

  it('on a terminal: a progress bar, the module table and saga states, logs above them', () => {
    const out = sink(true);
    const display = createDisplay({ out: out.stream, tty: true, plainEveryMs: 2000 });
    display.show(view(1000));
    display.logStream.write('[12:00:01] WARN: transfer compensated\n');
    display.print('demo: started');
    display.stop();
    display.stop(); // idempotent
    const text = out.text();
    expect(text).toContain('simulated 80/300 events (40/s) · 1.0s');
    expect(text).toMatch(/account-summary\s+live\s+77\s+3\s+1\.2s\s+1/);
    expect(text).toContain('transfer sagas: Completed 5');
    expect(text).toContain('WARN: transfer compensated');
    expect(text).toContain('demo: started');
    // A bar of 24 cells, a little over a quarter full.
    expect(text).toMatch(/[█=]{6}[░-]{18}/);
  });
});
