import { lookup } from 'node:dns/promises';
import { DryMongoBinary, MongoMemoryReplSet } from 'mongodb-memory-server-core';
import { toError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';

/**
 * A real mongod replica set through mongodb-memory-server, when a binary is present
 * (MONGOMS_SYSTEM_BINARY or its cache) or the download host resolves. On machines without
 * network access this answers "no" in about a second instead of retrying a download for minutes.
 */
async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export async function memoryServerAvailable(logger: Logger): Promise<boolean> {
  if (process.env.MONGOMS_SYSTEM_BINARY) return true;
  try {
    const found = await withTimeout(DryMongoBinary.locateBinary({ version: '' }), 2000);
    if (found) return true;
  } catch {
    // no cached binary: fall through to the download check
  }
  const mirror = process.env.MONGOMS_DOWNLOAD_MIRROR ?? 'https://fastdl.mongodb.org';
  try {
    const host = new URL(mirror).hostname;
    const ok = await withTimeout(
      lookup(host).then(() => true),
      2000,
    );
    return ok === true;
  } catch (e) {
    logger.debug({ err: toError(e) }, 'mongod download host does not resolve');
    return false;
  }
}

export async function startMemoryReplSet(): Promise<{ uri: string; stop(): Promise<void> }> {
  const rs = await MongoMemoryReplSet.create({
    replSet: { count: 1, storageEngine: 'wiredTiger' },
  });
  return {
    uri: rs.getUri(),
    stop: async () => {
      await rs.stop({ doCleanup: true, force: true });
    },
  };
}
