import { MongoClient } from 'mongodb';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ProjectordError } from '../../src/lib/errors.js';
import {
  DEFAULT_ACCOUNTS,
  DEFAULT_RATE,
  parseSimulateFlags,
  type SimulateFlags,
} from '../../src/simulate/options.js';
import { createSimulator } from '../../src/simulate/simulator.js';

function usageErrorOf(fn: () => unknown): ProjectordError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProjectordError);
    const err = e as ProjectordError;
    expect(err.exitCode).toBe(2);
    return err;
  }
  throw new Error('expected a usage error');
}

describe('simulate flags', () => {
  it('defaults to a rate, 20 accounts and a random seed when nothing is given', () => {
    const s = parseSimulateFlags({});
    expect(s).toMatchObject({ rate: DEFAULT_RATE, accounts: DEFAULT_ACCOUNTS });
    expect(s.count).toBeUndefined();
    expect(Number.isInteger(s.seed) && s.seed >= 0 && s.seed <= 0xffffffff).toBe(true);
  });

  it('accepts good values', () => {
    expect(parseSimulateFlags({ count: '500', accounts: '3', seed: '0' })).toEqual({
      count: 500,
      accounts: 3,
      seed: 0,
    });
    expect(parseSimulateFlags({ rate: '2.5', seed: '4294967295' })).toMatchObject({
      rate: 2.5,
      seed: 4294967295,
    });
  });

  it.each<[SimulateFlags, string]>([
    [{ count: 'abc' }, '--count must be a whole number from 1 to 1000000000, got "abc"'],
    [{ count: '-1' }, '--count must be a whole number'],
    [{ count: '0' }, 'got "0"'],
    [{ count: '1.5' }, 'got "1.5"'],
    [{ count: '1e3' }, 'got "1e3"'],
    [{ count: '' }, 'got ""'],
    [{ rate: '-5' }, '--rate must be a number of events per second above 0'],
    [{ rate: '0' }, 'got "0"'],
    [{ rate: 'abc' }, 'got "abc"'],
    [{ rate: 'NaN' }, 'got "NaN"'],
    [{ rate: 'Infinity' }, 'got "Infinity"'],
    [{ rate: '100001' }, 'at most 100000'],
    [{ accounts: '1' }, '--accounts must be a whole number from 2 to 100000, got "1"'],
    [{ accounts: 'many' }, 'got "many"'],
    [{ seed: '-1' }, '--seed must be a whole number from 0 to 4294967295, got "-1"'],
    [{ seed: '4294967296' }, 'got "4294967296"'],
    [{ seed: 'x' }, 'got "x"'],
    [{ count: '10', rate: '5' }, 'Pass either --count <n>'],
  ])('rejects %j with exit 2', (flags, message) => {
    const err = usageErrorOf(() => parseSimulateFlags(flags));
    expect(err.code).toBe('SIMULATE_BAD_OPTION');
    expect(err.message).toContain(message);
  });
});

describe('projectord simulate (CLI, before connecting)', () => {
  const stderr: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr.push(String(chunk));
    return true;
  });
  afterEach(() => {
    stderr.length = 0;
    vi.unstubAllEnvs();
  });
  afterAll(() => spy.mockRestore());

  it.each([
    [['--rate', '-5'], '--rate must be a number of events per second above 0'],
    [['--count', 'abc'], '--count must be a whole number'],
    [['--accounts', '0'], '--accounts must be a whole number'],
    [['--seed', 'x'], '--seed must be a whole number'],
    [['--count', '5', '--rate', '5'], 'not both'],
  ])('exits 2 for %j and says why', async (args, message) => {
    expect(await main(['node', 'projectord', 'simulate', ...args])).toBe(2);
    expect(stderr.join('')).toContain(message);
  });

  it('exits 2 telling how to pass a MongoDB URI when there is none', async () => {
    vi.stubEnv('PROJECTORD_MONGO_URI', undefined);
    vi.stubEnv('PROJECTORD_CONFIG', undefined);
    expect(await main(['node', 'projectord', 'simulate', '--count', '5'])).toBe(2);
    expect(stderr.join('')).toContain('pass --mongo-uri <uri> or set PROJECTORD_MONGO_URI');
  });
});

describe('createSimulator options', () => {
  // A client that is never connected: option checks happen before any I/O.
  const client = new MongoClient('mongodb://127.0.0.1:9/');
  const db = client.db('never_used');
  afterAll(() => client.close());

  it.each([
    [{ accounts: 1 }, 'accounts must be a whole number from 2'],
    [{ accounts: 2.5 }, 'accounts must be a whole number'],
    [{ seed: -3 }, 'seed must be a whole number from 0'],
    [{ legacyShare: 1.5 }, 'legacyShare must be from 0 to 1'],
  ])('rejects %j', (bad, message) => {
    const err = usageErrorOf(() => createSimulator({ db, seed: 1, accounts: 5, ...bad }));
    expect(err.message).toContain(message);
  });

  it.each([
    [{ count: 0 }, 'count must be a whole number from 1'],
    [{ count: Number.NaN }, 'count must be a whole number'],
    [{ count: 5, rate: -5 }, 'rate must be a number of events per second above 0'],
    [{ rate: 10 }, 'needs an AbortSignal'],
  ])('run rejects %j before writing anything', async (run, message) => {
    const sim = createSimulator({ db, seed: 1, accounts: 5 });
    const err = await sim.run(run).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ProjectordError);
    expect((err as ProjectordError).exitCode).toBe(2);
    expect((err as ProjectordError).message).toContain(message);
  });
});
