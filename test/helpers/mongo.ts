import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { afterAll, inject } from 'vitest';

export const mongoUri = (): string => inject('mongoUri');
export const mongoBackend = (): string => inject('mongoBackend');

/**
 * A database of its own for the calling test file, on the run's shared server; the client is
 * closed and the database dropped after the file's tests.
 */
export async function useTestDb(
  prefix = 't',
): Promise<{ client: MongoClient; db: Db; dbName: string }> {
  const client = new MongoClient(mongoUri());
  await client.connect();
  const dbName = `${prefix}_${randomBytes(4).toString('hex')}`;
  const db = client.db(dbName);
  afterAll(async () => {
    await db.dropDatabase().catch(() => undefined);
    await client.close();
  });
  return { client, db, dbName };
}

/** Polls `check` until it returns a truthy value or the deadline passes (then throws). */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
  throw new Error(
    `timed out after ${opts.timeoutMs ?? 20_000} ms waiting for ${opts.what ?? 'condition'} (last: ${JSON.stringify(last)})`,
  );
}
