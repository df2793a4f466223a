import { describe, expect, it } from 'vitest';
import { IDLE_PAUSE_MAX_MS, idlePauseMs } from '../../src/source/changeStream.js';

describe('the pause between empty answers of a server that does not wait for data', () => {
  it('starts at 20 ms and doubles with each empty answer in a row, up to its cap', () => {
    const pauses = [1, 2, 3, 4, 5, 6, 50].map((n) => idlePauseMs(n, 500));
    expect(pauses).toEqual([20, 40, 80, 160, 200, 200, 200]);
    expect(IDLE_PAUSE_MAX_MS).toBe(200);
  });

  it('never waits longer than maxAwaitTimeMs', () => {
    expect(idlePauseMs(1, 10)).toBe(10);
    expect(idlePauseMs(4, 100)).toBe(100);
  });

  it('treats a count below one as the first empty answer', () => {
    expect(idlePauseMs(0, 500)).toBe(20);
    expect(idlePauseMs(-3, 500)).toBe(20);
  });
});
