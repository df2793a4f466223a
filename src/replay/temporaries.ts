import type { Db, Document } from 'mongodb';
import type { Config } from '../config/schema.js';
import type { UpcasterRegistry } from '../dispatch/upcast.js';
import { toError } from '../lib/errors.js';
import type { ProjectionDefinition } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';
import { dropAll, prepareTargets } from './collections.js';
import { physicalMap, randomTag, replayName, verifyName } from './names.js';
import { projectInto, type ProjectIntoOptions, type ProjectionRun } from './projectInto.js';

/** What every re-run of a projection from event_store needs (verify, replay, rebuild). */
export interface RecomputeOptions {
  db: Db;
  module: ProjectionDefinition;
  upcasters: UpcasterRegistry;
  config: Config;
  logger: Logger;
  signal: AbortSignal;
}

export interface TemporaryRunOptions extends RecomputeOptions {
  /** Names the collections (`<collection>__<kind>_<random>`) and the log line of a failed drop. */
  kind: 'verify' | 'replay';
  filter?: Document;
  exclude?: ProjectIntoOptions['exclude'];
  now?(): Date;
  onProgress?(scanned: number): void;
}

const TEMPORARY_NAME = { verify: verifyName, replay: replayName } as const;

/**
 * The step verify and replay share: re-run the projection into temporary collections of this
 * run alone (random names, so concurrent runs never collide), hand the result and the
 * name map to `use`, then drop the temporaries — always, whatever `projectInto` or `use` did.
 * A failed drop is logged for the operator to finish by hand; it never hides the outcome.
 */
export async function withTemporaryRun<T>(
  o: TemporaryRunOptions,
  use: (run: ProjectionRun, physical: (collection: string) => string) => Promise<T>,
): Promise<T> {
  const { kind, ...runOptions } = o;
  const { db, module, logger } = o;
  const tag = randomTag();
  const physical = physicalMap(module.collections, (c) => TEMPORARY_NAME[kind](c, tag));
  const temporaries = module.collections.map(physical);
  try {
    await prepareTargets(db, module, physical);
    const run = await projectInto({ ...runOptions, physical });
    return await use(run, physical);
  } finally {
    await dropAll(db, temporaries).catch((e: unknown) =>
      logger.error(
        { err: toError(e), collections: temporaries },
        `could not drop the temporary collections of ${kind}: drop them by hand`,
      ),
    );
  }
}
