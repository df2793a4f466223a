import { randomInt } from 'node:crypto';
import { usageError } from '../lib/errors.js';
import { MAX_SEED } from './random.js';

/**
 * The inputs of a simulation and their limits, shared by the CLI flags (strings, checked
 * before anything connects) and the library options (numbers). A bad value is a usage error
 * (exit 2) naming the input, the value and a valid example.
 */
export const DEFAULT_RATE = 100;
export const DEFAULT_ACCOUNTS = 20;
export const MAX_ACCOUNTS = 100_000;
export const MAX_RATE = 100_000;
export const MAX_COUNT = 1_000_000_000;

export interface SimulateFlags {
  count?: string | undefined;
  rate?: string | undefined;
  accounts?: string | undefined;
  seed?: string | undefined;
}

export interface SimulateSettings {
  accounts: number;
  seed: number;
  /** Stop after this many events; absent: run until stopped (Ctrl-C). */
  count?: number;
  /** Events per second; absent with a count: as fast as the store takes them. */
  rate?: number;
}

function wholeNumber(raw: string, name: string, min: number, max: number, example: string) {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  return checkInteger(n, name, min, max, example, JSON.stringify(raw));
}

export function checkInteger(
  n: number,
  name: string,
  min: number,
  max: number,
  example: string,
  shown = String(n),
): number {
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw usageError(
      'SIMULATE_BAD_OPTION',
      `${name} must be a whole number from ${min} to ${max}, got ${shown}. Pass e.g. ${name} ${example}.`,
    );
  }
  return n;
}

export function checkRate(n: number, name = 'rate', shown = String(n)): number {
  if (!Number.isFinite(n) || n <= 0 || n > MAX_RATE) {
    throw usageError(
      'SIMULATE_BAD_OPTION',
      `${name} must be a number of events per second above 0 and at most ${MAX_RATE}, got ${shown}. ` +
        `Pass e.g. ${name} 200.`,
    );
  }
  return n;
}

export const checkCount = (n: number, name = 'count') => checkInteger(n, name, 1, MAX_COUNT, '500');
export const checkAccounts = (n: number, name = 'accounts') =>
  checkInteger(n, name, 2, MAX_ACCOUNTS, String(DEFAULT_ACCOUNTS));
export const checkSeed = (n: number, name = 'seed') => checkInteger(n, name, 0, MAX_SEED, '42');

/** A seed for runs that did not ask for one; the summary prints it so the run can be repeated. */
export const randomSeed = (): number => randomInt(0, MAX_SEED + 1);

/** Validates `simulate`'s flags (as commander hands them over: strings or absent). */
export function parseSimulateFlags(flags: SimulateFlags): SimulateSettings {
  if (flags.count !== undefined && flags.rate !== undefined) {
    throw usageError(
      'SIMULATE_BAD_OPTION',
      'Pass either --count <n> (write n events, then stop) or --rate <events/s> (run until Ctrl-C), not both.',
    );
  }
  const settings: SimulateSettings = {
    accounts:
      flags.accounts === undefined
        ? DEFAULT_ACCOUNTS
        : wholeNumber(flags.accounts, '--accounts', 2, MAX_ACCOUNTS, String(DEFAULT_ACCOUNTS)),
    seed:
      flags.seed === undefined
        ? randomSeed()
        : wholeNumber(flags.seed, '--seed', 0, MAX_SEED, '42'),
  };
  if (flags.count !== undefined) {
    settings.count = wholeNumber(flags.count, '--count', 1, MAX_COUNT, '500');
  } else if (flags.rate !== undefined) {
    const raw = flags.rate.trim();
    const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
    settings.rate = checkRate(n, '--rate', JSON.stringify(flags.rate));
  } else {
    settings.rate = DEFAULT_RATE;
  }
  return settings;
}
