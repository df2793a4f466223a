import { userInfo } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseOutcome, parseReviewer } from '../../src/cli/commands/compliance.js';
import { main } from '../../src/cli/main.js';
import { ProjectordError } from '../../src/lib/errors.js';

/** Runs the CLI and returns its exit code and what it wrote to stderr. */
async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const code = await main(['node', 'projectord', ...args]);
  return { code, stderr };
}

/** The usage error `parse` throws (fails the test when it returns instead). */
function usageFailure(parse: () => unknown): ProjectordError {
  try {
    parse();
  } catch (e) {
    expect(e).toBeInstanceOf(ProjectordError);
    expect((e as ProjectordError).exitCode).toBe(2);
    return e as ProjectordError;
  }
  throw new Error('expected a usage error, got a value');
}

describe('projectord compliance review: usage errors (exit 2)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it.each(['cleared', 'escalated'])('accepts the outcome %s', (o) => {
    expect(parseOutcome(o)).toBe(o);
  });

  it.each(['approved', 'CLEARED', '', ' cleared'])('rejects the outcome "%s"', (o) => {
    expect(usageFailure(() => parseOutcome(o)).code).toBe('REVIEW_BAD_OUTCOME');
  });

  it.each([
    [['--outcome', 'approved'], /--outcome must be "cleared" or "escalated", got "approved"/],
    [['--outcome', 'cleared', '--by', ''], /--by must name who reviewed it, got ""/],
  ])(
    'exits 2 for %j with a message naming the flag, before connecting anywhere',
    async (flags, message) => {
      const unreachable = ['--mongo-uri', 'mongodb://unreachable.invalid:1'];
      const r = await cli(...unreachable, 'compliance', 'review', 'review-T1', ...flags);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    },
  );

  it.each(['', ' ', '\t'])('rejects the reviewer "%s", naming --by', (by) => {
    const err = usageFailure(() => parseReviewer(by));
    expect(err.code).toBe('REVIEW_BAD_REVIEWER');
    expect(err.message).toMatch(/--by/);
  });

  it('keeps a given reviewer and defaults to the OS user without --by', () => {
    expect(parseReviewer('carol')).toBe('carol');
    expect(parseReviewer(undefined)).toBe(userInfo().username);
  });

  it('exits 2 without --outcome', async () => {
    const r = await cli('compliance', 'review', 'review-T1');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--outcome/);
  });

  it('exits 2 without a review id', async () => {
    const r = await cli('compliance', 'review', '--outcome', 'cleared');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/reviewId/);
  });

  it('exits 2 when no MongoDB URI is configured', async () => {
    vi.stubEnv('PROJECTORD_MONGO_URI', '');
    delete process.env.PROJECTORD_MONGO_URI;
    const r = await cli('compliance', 'review', 'review-T1', '--outcome', 'cleared');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--mongo-uri or set PROJECTORD_MONGO_URI/);
  });
});
