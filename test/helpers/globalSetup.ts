import { MongoClient } from 'mongodb';
import type { TestProject } from 'vitest/node';
import { startMongo, type EmbeddedMongo } from '../../src/mongo/starter.js';
import { isRealMongod } from '../../src/source/confirmInserts.js';
import { createLogger } from '../../src/observability/logger.js';

/**
 * One MongoDB for the whole integration run (DESIGN.md "MongoDB in tests"): MONGODB_URI, else a
 * real mongod via mongodb-memory-server, else mongo-java-server. Prints which one it used.
 */
let mongo: EmbeddedMongo | undefined;

export async function setup(project: TestProject): Promise<void> {
  const logger = createLogger({ level: 'warn', pretty: false });
  mongo = await startMongo(logger);
  const backend = mongo.backend === 'external' ? await externalKind(mongo.uri) : mongo.backend;
  const shown = backend === mongo.backend ? backend : `external, ${backend}`;
  process.stdout.write(`\n[projectord tests] MongoDB backend: ${shown} (${mongo.uri})\n\n`);
  project.provide('mongoUri', mongo.uri);
  project.provide('mongoBackend', backend);
}

/**
 * What a MONGODB_URI server is, for the tests that allow for the fallback's known defects
 * (mongo-java-server, say one started by `projectord mongo`, is no real mongod).
 */
async function externalKind(uri: string): Promise<string> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    return (await isRealMongod(client.db('admin'))) ? 'external' : 'mongo-java-server';
  } finally {
    await client.close();
  }
}

export async function teardown(): Promise<void> {
  await mongo?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    mongoBackend: string;
  }
}
