import type { Db } from 'mongodb';
import type { Config } from '../config/schema.js';
import type { UpcasterRegistry } from '../dispatch/upcast.js';
import { toError } from '../lib/errors.js';
import type { ProjectionDefinition } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';
import { dropAll, prepareTargets } from './collections.js';
import { compareCollections, type CollectionComparison } from './compare.js';
import { physicalMap, randomTag, verifyName } from './names.js';
import { ProjectionFailedError, projectInto, type ProjectionRun } from './projectInto.js';

/**
 * verify for one projection: recompute it from event_store into temporary collections
 * (`<collection>__verify_<random>`), compare each with its live collection, drop the temporary
 * ones — always, whatever happened. The live model is only read.
 *
 * The comparison is with what event_store holds now. A daemon that is running may not have
 * applied the newest events yet, so differences in recently changed documents can be lag, not
 * damage: verify is meant for a quiet store (the command warns when event_store grew meanwhile).
 * A handler that fails during the recompute is a verdict too (`failed`), not a crash: the other
 * modules are still verified.
 */
export type ModuleVerdict =
  | {
      module: string;
      status: 'match' | 'differ';
      run: ProjectionRun;
      collections: CollectionComparison[];
    }
  | { module: string; status: 'failed'; error: ProjectionFailedError };

export interface VerifyOptions {
  db: Db;
  module: ProjectionDefinition;
  upcasters: UpcasterRegistry;
  config: Config;
  logger: Logger;
  signal: AbortSignal;
  /** Differences kept for the report (all are counted). */
  limit: number;
  onProgress?(scanned: number): void;
}

export async function verifyModule(o: VerifyOptions): Promise<ModuleVerdict> {
  const { db, module } = o;
  const tag = randomTag();
  const physical = physicalMap(module.collections, (c) => verifyName(c, tag));
  const targets = module.collections.map(physical);
  try {
    await prepareTargets(db, module, physical);
    const run = await projectInto({
      db,
      module,
      upcasters: o.upcasters,
      physical,
      config: o.config,
      logger: o.logger,
      signal: o.signal,
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    const collections: CollectionComparison[] = [];
    let shown = 0;
    for (const c of module.collections) {
      const comparison = await compareCollections({
        db,
        live: c,
        expected: physical(c),
        ignore: module.verifyIgnore ?? [],
        limit: Math.max(0, o.limit - shown),
      });
      shown += comparison.shown.length;
      collections.push(comparison);
    }
    const differ = collections.some((c) => c.differing > 0);
    return { module: module.name, status: differ ? 'differ' : 'match', run, collections };
  } catch (e) {
    if (e instanceof ProjectionFailedError)
      return { module: module.name, status: 'failed', error: e };
    throw e;
  } finally {
    await dropAll(db, targets).catch((e: unknown) =>
      o.logger.error(
        { err: toError(e), collections: targets },
        'could not drop the temporary collections of verify: drop them by hand',
      ),
    );
  }
}
