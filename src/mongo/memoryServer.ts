import { lookup } from 'node:dns/promises';
import { DryMongoBinary, MongoMemoryReplSet } from 'mongodb-memory-server-core';
import { toError } from '../lib/errors.js';
import { deadline } from '../lib/timeout.js';
import type { Logger } from '../observability/logger.js';

/**
 * A real mongod replica set through mongodb-memory-server, when a binary is present
 * (MONGOMS_SYSTEM_BINARY or its cache) or the download host resolves. On machines without
 * network access this answers "no" in about a second instead of retrying a download for minutes.
 */

const slow = () => new Error('no answer within 2 s');

export async function memoryServerAvailable(logger: Logger): Promise<boolean> {
  if (process.env.MONGOMS_SYSTEM_BINARY) return true;
  try {
    const found = await deadline(DryMongoBinary.locateBinary({ version: '' }), 2000, slow);
    if (found) return true;
  } catch {
    // no cached binary: fall through to the download check
  }
  const mirror = process.env.MONGOMS_DOWNLOAD_MIRROR ?? 'https://fastdl.mongodb.org';
  try {
    const host = new URL(mirror).hostname;
    const ok = await deadline(
      lookup(host).then(() => true),
      2000,
      slow,
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
