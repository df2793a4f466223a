import { MongoClient, type Db } from 'mongodb';
import type { Config } from '../config/schema.js';
import { toError } from '../lib/errors.js';
import { runDaemon, type RunningDaemon } from '../lifecycle/runDaemon.js';
import { startMongo, waitForPing, type EmbeddedMongo } from '../mongo/starter.js';
import type { Logger } from '../observability/logger.js';

/**
 * What the demo runs on, opened in order and released in reverse: a MongoDB (the one given
 * with --mongo-uri, else MONGODB_URI, else the embedded one), the whole daemon in this process
 * (metrics on a free local port, so a daemon already on 9464 is no obstacle), and a client for
 * the simulator and the display. Every release step runs even when an earlier one failed.
 */
export interface DemoEnvironment {
  mongo: EmbeddedMongo;
  config: Config;
  daemon: RunningDaemon;
  db: Db;
  /** Stops the daemon (idempotent), so verify can read a store that no longer moves. */
  stopDaemon(): Promise<void>;
  release(): Promise<void>;
}

export interface EnvironmentOptions {
  /** The resolved configuration; its mongoUri and metrics address are replaced here. */
  config: Config;
  /** --mongo-uri of the demo command: a server the user chose explicitly. */
  mongoUri?: string | undefined;
  logger: Logger;
  env?: NodeJS.ProcessEnv;
}

export async function openEnvironment(o: EnvironmentOptions): Promise<DemoEnvironment> {
  const releasers: { what: string; run(): Promise<void> }[] = [];
  async function release(): Promise<void> {
    const failures: Error[] = [];
    for (const r of releasers.splice(0).reverse()) {
      await r.run().catch((e: unknown) => {
        failures.push(toError(e));
        o.logger.warn({ err: toError(e) }, `releasing ${r.what} failed`);
      });
    }
    if (failures.length > 0)
      throw new AggregateError(failures, 'demo cleanup finished with errors');
  }
  try {
    const mongo = o.mongoUri ? await external(o.mongoUri) : await startMongo(o.logger, o.env);
    releasers.push({ what: 'MongoDB', run: () => mongo.stop() });
    const config: Config = {
      ...o.config,
      mongoUri: mongo.uri,
      metrics: { host: '127.0.0.1', port: 0 },
    };
    const client = new MongoClient(mongo.uri, { serverSelectionTimeoutMS: 10_000 });
    await client.connect();
    releasers.push({ what: 'MongoDB client', run: () => client.close() });
    const daemon = await runDaemon({ config, logger: o.logger });
    releasers.push({ what: 'daemon', run: () => daemon.stop() });
    return {
      mongo,
      config,
      daemon,
      db: client.db(config.db),
      stopDaemon: () => daemon.stop(),
      release,
    };
  } catch (e) {
    await release().catch(() => undefined);
    throw e;
  }
}

async function external(uri: string): Promise<EmbeddedMongo> {
  await waitForPing(uri, 10_000);
  return { uri, backend: 'external', stop: () => Promise.resolve() };
}
