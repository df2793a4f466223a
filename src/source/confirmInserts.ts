import type { Db } from 'mongodb';
import { toError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';

/**
 * Whether live events must be confirmed in event_store before they are dispatched. A real
 * mongod never emits a change event for an insert it refused; the embedded fallback
 * (mongo-java-server) does, for inserts refused with E11000. `auto` recognises a real mongod by
 * the `gitVersion` its buildInfo always carries; when in doubt (buildInfo failed), confirm.
 */
/** A real mongod always reports `gitVersion` in buildInfo; mongo-java-server does not. */
export async function isRealMongod(db: Db): Promise<boolean> {
  const info = await db.admin().command({ buildInfo: 1 });
  return typeof info.gitVersion === 'string';
}

export async function decideConfirmInserts(
  db: Db,
  setting: 'auto' | 'always' | 'never',
  logger: Logger,
): Promise<boolean> {
  if (setting !== 'auto') return setting === 'always';
  try {
    const real = await isRealMongod(db);
    if (!real)
      logger.info('server is not a real mongod: confirming each live event in event_store');
    return !real;
  } catch (e) {
    logger.warn({ err: toError(e) }, 'buildInfo failed: confirming each live event in event_store');
    return true;
  }
}
