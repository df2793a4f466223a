import { usageError } from '../lib/errors.js';
import {
  DEFAULT_ACCOUNTS,
  DEFAULT_RATE,
  MAX_ACCOUNTS,
  MAX_COUNT,
  MAX_RATE,
  randomSeed,
} from '../simulate/options.js';
import { MAX_SEED } from '../simulate/random.js';

/**
 * `demo`'s flags, checked before anything starts (no MongoDB is launched for a typo). Unlike
 * `simulate`, `--events` and `--rate` combine: n events at that pace, then verify.
 */
export interface DemoFlags {
  events?: string | undefined;
  rate?: string | undefined;
  accounts?: string | undefined;
  seed?: string | undefined;
}

export interface DemoSettings {
  /** Simulate this many events, then settle, verify and exit; absent: run until Ctrl-C. */
  events?: number;
  /** Events per second; absent (only with `events`): as fast as the store takes them. */
  rate?: number;
  accounts: number;
  seed: number;
}

function bad(flag: string, rule: string, raw: string, example: string): never {
  throw usageError(
    'DEMO_BAD_OPTION',
    `${flag} must be ${rule}, got ${JSON.stringify(raw)}. Pass e.g. ${flag} ${example}.`,
  );
}

function whole(raw: string, flag: string, min: number, max: number, example: string): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    bad(flag, `a whole number from ${min} to ${max}`, raw, example);
  }
  return n;
}

function rate(raw: string): number {
  const n = /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN;
  if (!Number.isFinite(n) || n <= 0 || n > MAX_RATE) {
    bad('--rate', `a number of events per second above 0 and at most ${MAX_RATE}`, raw, '200');
  }
  return n;
}

export function parseDemoFlags(flags: DemoFlags): DemoSettings {
  const settings: DemoSettings = {
    accounts:
      flags.accounts === undefined
        ? DEFAULT_ACCOUNTS
        : whole(flags.accounts, '--accounts', 2, MAX_ACCOUNTS, String(DEFAULT_ACCOUNTS)),
    seed: flags.seed === undefined ? randomSeed() : whole(flags.seed, '--seed', 0, MAX_SEED, '42'),
  };
  if (flags.events !== undefined) {
    settings.events = whole(flags.events, '--events', 1, MAX_COUNT, '1000');
  }
  if (flags.rate !== undefined) settings.rate = rate(flags.rate);
  else if (settings.events === undefined) settings.rate = DEFAULT_RATE;
  return settings;
}
