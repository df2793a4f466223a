import { MongoClient } from 'mongodb';
import { ProjectordError, toError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';
import { redactUri } from '../observability/redact.js';
import { startJavaServer } from './javaServer.js';
import { memoryServerAvailable, startMemoryReplSet } from './memoryServer.js';

/**
 * Picks the MongoDB that tests, `projectord mongo` and `projectord demo` talk to, in this order:
 * MONGODB_URI; a real mongod replica set (mongodb-memory-server) when a binary is available;
 * the mongo-java-server fallback. Logs which one it chose. PROJECTORD_EMBEDDED_BACKEND
 * (`memory-server` or `java`) forces one of the last two.
 */
export type MongoBackend = 'external' | 'mongodb-memory-server' | 'mongo-java-server';

export interface EmbeddedMongo {
  uri: string;
  backend: MongoBackend;
  /** Idempotent. Leaves no process behind. */
  stop(): Promise<void>;
}

export async function waitForPing(uri: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  while (Date.now() < deadline) {
    const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2000 });
    try {
      await client.connect();
      await client.db('admin').command({ ping: 1 });
      return;
    } catch (e) {
      last = toError(e);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      await client.close().catch(() => undefined);
    }
  }
  throw new ProjectordError(
    'MONGO_UNREACHABLE',
    `MongoDB at ${redactUri(uri)} did not answer ping within ${timeoutMs} ms: ${last?.message ?? ''}`,
  );
}

export async function startMongo(logger: Logger, env = process.env): Promise<EmbeddedMongo> {
  const external = env.MONGODB_URI;
  if (external) {
    logger.info({ backend: 'external', uri: external }, 'using MongoDB from MONGODB_URI');
    await waitForPing(external);
    return { uri: external, backend: 'external', stop: () => Promise.resolve() };
  }
  const forced = env.PROJECTORD_EMBEDDED_BACKEND;
  if (forced !== undefined && forced !== 'java' && forced !== 'memory-server') {
    throw new ProjectordError(
      'EMBEDDED_BACKEND_INVALID',
      `PROJECTORD_EMBEDDED_BACKEND=${forced} is not one of: java, memory-server.`,
      { exitCode: 2 },
    );
  }
  if (forced !== 'java' && (forced === 'memory-server' || (await memoryServerAvailable(logger)))) {
    try {
      const rs = await startMemoryReplSet();
      logger.info({ backend: 'mongodb-memory-server' }, 'started a mongod replica set');
      return once({ ...rs, backend: 'mongodb-memory-server' });
    } catch (e) {
      if (forced === 'memory-server') throw e;
      logger.warn({ err: toError(e) }, 'mongodb-memory-server failed; using mongo-java-server');
    }
  } else {
    logger.info('no mongod binary available and none can be downloaded; using mongo-java-server');
  }
  const server = await startJavaServer(logger);
  await waitForPing(server.uri);
  logger.info({ backend: 'mongo-java-server', uri: server.uri }, 'started mongo-java-server');
  return once({ uri: server.uri, backend: 'mongo-java-server', stop: () => server.stop() });
}

function once(m: EmbeddedMongo): EmbeddedMongo {
  let stopping: Promise<void> | undefined;
  return { ...m, stop: () => (stopping ??= m.stop()) };
}
