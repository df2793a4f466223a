import { MongoClient, type Db } from 'mongodb';
import type { Config } from '../config/schema.js';
import { createUpcasterRegistry, type UpcasterRegistry } from '../dispatch/upcast.js';
import { ProjectordError, toError, usageError } from '../lib/errors.js';
import { onShutdownSignal } from '../lifecycle/signals.js';
import { loadModules } from '../modules/load.js';
import type { ModuleDefinition } from '../modules/types.js';
import { redactUri } from '../observability/redact.js';
import { createPartitioning, type Partitioning } from '../partitions/counts.js';

/**
 * What the operator commands (verify, rebuild, replay, dlq, status) share: one MongoDB
 * connection for the command's duration — closed whatever happens — and the configured modules.
 * A missing or unreachable URI is reported before anything is read or written.
 */
export async function withDatabase<T>(
  config: Config,
  command: string,
  fn: (db: Db) => Promise<T>,
): Promise<T> {
  if (config.mongoUri === undefined) {
    throw usageError(
      'MONGO_URI_REQUIRED',
      `projectord ${command} needs the MongoDB of event_store: pass --mongo-uri, set ` +
        'PROJECTORD_MONGO_URI, or set mongoUri in the --config file.',
    );
  }
  const client = new MongoClient(config.mongoUri, { serverSelectionTimeoutMS: 10_000 });
  try {
    try {
      await client.connect();
    } catch (e) {
      throw new ProjectordError(
        'MONGO_UNREACHABLE',
        `Cannot reach MongoDB at ${redactUri(config.mongoUri)}: ${toError(e).message}. ` +
          'Check --mongo-uri / PROJECTORD_MONGO_URI and that the server is running.',
        { cause: e },
      );
    }
    return await fn(client.db(config.db));
  } finally {
    await client.close();
  }
}

/**
 * `withDatabase` for a command that re-runs projections: `fn` also gets an AbortSignal that the
 * first SIGINT/SIGTERM fires, so the run stops at its next event and cleans up after itself
 * (a second signal exits at once). The signal handlers are removed when `fn` settles.
 */
export async function withStoppableDatabase<T>(
  config: Config,
  command: string,
  fn: (db: Db, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const stop = new AbortController();
  const removeSignals = onShutdownSignal(() => stop.abort());
  try {
    return await withDatabase(config, command, (db) => fn(db, stop.signal));
  } finally {
    removeSignals();
  }
}

export async function loadConfiguredModules(
  config: Config,
  cwd: string = process.cwd(),
): Promise<{
  modules: ModuleDefinition[];
  upcasters: UpcasterRegistry;
  partitioning: Partitioning;
}> {
  const loaded = await loadModules(config.modules, { cwd });
  return {
    modules: loaded.modules,
    upcasters: createUpcasterRegistry(loaded.upcasters),
    partitioning: createPartitioning(config.modules.partitions, loaded.loaded),
  };
}
