import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { configSchema, type Config, type ConfigInput } from '../../src/config/schema.js';
import { ensureEventStoreIndexes } from '../../src/events/eventStore.js';
import { startMongo, type EmbeddedMongo } from '../../src/mongo/starter.js';
import { silentLogger } from '../../src/observability/logger.js';
import { log } from '../lib/results.js';

/**
 * One MongoDB per wire scenario, picked like the tests pick theirs (MONGODB_URI, a real mongod,
 * else mongo-java-server), and a fresh database per contender so they never see each other's
 * events or read models.
 */
export interface BenchServer {
  mongo: EmbeddedMongo;
  client: MongoClient;
  /** A new database with event_store's indexes; dropped by `stop()`. */
  freshDb(label: string): Promise<Db>;
  stop(): Promise<void>;
}

export async function startBenchServer(): Promise<BenchServer> {
  const mongo = await startMongo(silentLogger());
  log(`MongoDB backend: ${mongo.backend}`);
  const client = new MongoClient(mongo.uri);
  await client.connect();
  const dbs: Db[] = [];
  return {
    mongo,
    client,
    async freshDb(label) {
      const db = client.db(`bench_${label}_${randomBytes(3).toString('hex')}`);
      await ensureEventStoreIndexes(db);
      dbs.push(db);
      return db;
    },
    async stop() {
      for (const db of dbs) await db.dropDatabase().catch(() => undefined);
      await client.close();
      await mongo.stop();
    },
  };
}

export function benchConfig(db: Db, overrides: ConfigInput = {}): Config {
  return configSchema.parse({ db: db.databaseName, instanceId: 'bench', ...overrides });
}
