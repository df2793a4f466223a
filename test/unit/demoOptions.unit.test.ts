import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { parseDemoFlags, type DemoFlags } from '../../src/demo/options.js';
import { ProjectordError } from '../../src/lib/errors.js';
import { DEFAULT_ACCOUNTS, DEFAULT_RATE } from '../../src/simulate/options.js';

/** `projectord demo`'s flags: every bad value stops it with exit 2 before anything starts. */
function usageMessage(flags: DemoFlags): string {
  try {
    parseDemoFlags(flags);
  } catch (e) {
    expect(e).toBeInstanceOf(ProjectordError);
    expect((e as ProjectordError).exitCode).toBe(2);
    return (e as ProjectordError).message;
  }
  throw new Error(`expected a usage error for ${JSON.stringify(flags)}`);
}

describe('demo flags', () => {
  afterEach(() => vi.restoreAllMocks());

  it('runs until Ctrl-C at the default rate when no --events is given', () => {
    const s = parseDemoFlags({});
    expect(s).toMatchObject({ rate: DEFAULT_RATE, accounts: DEFAULT_ACCOUNTS });
    expect(s.events).toBeUndefined();
  });

  it('with --events runs as fast as it can, or at --rate when both are given', () => {
    expect(parseDemoFlags({ events: '300', seed: '7', accounts: '5' })).toEqual({
      events: 300,
      seed: 7,
      accounts: 5,
    });
    expect(parseDemoFlags({ events: '300', rate: '50', seed: '1' })).toMatchObject({
      events: 300,
      rate: 50,
    });
  });

  it.each<[DemoFlags, string]>([
    [{ events: 'abc' }, '--events must be a whole number from 1 to 1000000000, got "abc"'],
    [{ events: '0' }, 'got "0"'],
    [{ events: '-3' }, 'got "-3"'],
    [{ events: '1.5' }, 'got "1.5"'],
    [{ rate: '-5' }, '--rate must be a number of events per second above 0'],
    [{ rate: '0' }, 'got "0"'],
    [{ rate: 'fast' }, 'got "fast"'],
    [{ rate: '100001' }, 'at most 100000'],
    [{ accounts: '1' }, '--accounts must be a whole number from 2 to 100000, got "1"'],
    [{ accounts: 'x' }, 'got "x"'],
    [{ seed: '-1' }, '--seed must be a whole number from 0 to 4294967295, got "-1"'],
    [{ seed: 'abc' }, 'got "abc"'],
  ])('rejects %j', (flags, expected) => {
    const message = usageMessage(flags);
    expect(message).toContain(expected);
    expect(message).toMatch(/Pass e\.g\. --\w+ \d+\./);
  });

  it.each([
    [['--events', 'abc'], '--events must be a whole number'],
    [['--rate', '-5'], '--rate must be a number of events per second above 0'],
  ])('the CLI exits 2 with the reason for demo %j', async (args, reason) => {
    let err = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err += String(chunk);
      return true;
    });
    const code = await main(['node', 'projectord', 'demo', ...args]);
    vi.restoreAllMocks();
    expect(code).toBe(2);
    expect(err).toContain(reason);
  });
});
