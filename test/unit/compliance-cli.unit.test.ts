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

describe('projectord compliance review: usage errors (exit 2)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it.each(['cleared', 'escalated'])('accepts the outcome %s', (o) => {
    expect(parseOutcome(o)).toBe(o);
  });

  it.each(['approved', 'CLEARED', '', ' cleared'])('rejects the outcome "%s"', (o) => {
    const err: unknown = (() => {
      try {
        return parseOutcome(o);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ProjectordError);
    expect((err as ProjectordError).exitCode).toBe(2);
    expect((err as ProjectordError).code).toBe('REVIEW_BAD_OUTCOME');
  });

  it('exits 2 with a clear message for a bad outcome, before connecting anywhere', async () => {
    const r = await cli(
      '--mongo-uri',
      'mongodb://unreachable.invalid:1',
      'compliance',
      'review',
      'review-T1',
      '--outcome',
      'approved',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--outcome must be "cleared" or "escalated", got "approved"/);
  });

  it.each(['', ' ', '\t'])('rejects the reviewer "%s", naming --by', (by) => {
    let err: unknown;
    try {
      parseReviewer(by);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProjectordError);
    expect((err as ProjectordError).exitCode).toBe(2);
    expect((err as ProjectordError).code).toBe('REVIEW_BAD_REVIEWER');
    expect((err as ProjectordError).message).toMatch(/--by/);
  });

  it('keeps a given reviewer and defaults to the OS user without --by', () => {
    expect(parseReviewer('carol')).toBe('carol');
    expect(parseReviewer(undefined)).toBe(userInfo().username);
  });

  it('exits 2 with a message naming --by for an empty reviewer, before connecting anywhere', async () => {
    const r = await cli(
      '--mongo-uri',
      'mongodb://unreachable.invalid:1',
      'compliance',
      'review',
      'review-T1',
      '--outcome',
      'cleared',
      '--by',
      '',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--by must name who reviewed it, got ""/);
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
