import type { TestProject } from 'vitest/node';
import { startMongo, type EmbeddedMongo } from '../../src/mongo/starter.js';
import { createLogger } from '../../src/observability/logger.js';

/**
 * One MongoDB for the whole integration run (DESIGN.md "MongoDB in tests"): MONGODB_URI, else a
 * real mongod via mongodb-memory-server, else mongo-java-server. Prints which one it used.
 */
let mongo: EmbeddedMongo | undefined;

export async function setup(project: TestProject): Promise<void> {
  const logger = createLogger({ level: 'warn', pretty: false });
  mongo = await startMongo(logger);
  process.stdout.write(`\n[projectord tests] MongoDB backend: ${mongo.backend} (${mongo.uri})\n\n`);
  project.provide('mongoUri', mongo.uri);
  project.provide('mongoBackend', mongo.backend);
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
