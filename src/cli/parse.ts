import { InvalidArgumentError } from 'commander';

/** Flag parsers: a bad value stops the command with exit 2 and says what is expected. */
export function parseInteger(
  value: string,
  flag: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(
      `${flag} must be an integer from ${min} to ${max} (got "${value}").`,
    );
  }
  return n;
}

export function parsePort(value: string, flag: string): number {
  return parseInteger(value, flag, 0, 65535);
}
