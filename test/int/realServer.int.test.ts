import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from 'mongodb';
import { isRealMongod } from '../../src/source/confirmInserts.js';
import { mongoBackend, useTestDb } from '../helpers/mongo.js';

/**
 * Issue 15, item 12, against the run's server: the decision agrees with what the harness found
 * (a real mongod for MONGODB_URI or mongodb-memory-server, not for mongo-java-server). Runs on
 * every backend; it only expects a different answer.
 */
describe('the real-server decision on this run’s server', () => {
  let db: Db;
  beforeAll(async () => {
    ({ db } = await useTestDb('real'));
  });

  it(`recognises the ${mongoBackend()} backend`, async () => {
    expect(await isRealMongod(db)).toBe(mongoBackend() !== 'mongo-java-server');
  });
});
