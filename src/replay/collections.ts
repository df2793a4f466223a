import type { Db } from 'mongodb';
import { mongoErrorCode, toError } from '../lib/errors.js';
import type { ModuleDefinition } from '../modules/types.js';

/**
 * Collection-level steps of rebuild and verify: prepare a module's target collections (created
 * empty, with the module's declared indexes, so a rename later carries the indexes along), drop
 * them, and swap a shadow in. Codes: 26 NamespaceNotFound, 48 NamespaceExists.
 */
const NAMESPACE_NOT_FOUND = 26;
const NAMESPACE_EXISTS = 48;

/** Creates each target empty (dropping what a crashed run left) with the module's indexes. */
export async function prepareTargets(
  db: Db,
  module: ModuleDefinition,
  physical: (collection: string) => string,
): Promise<void> {
  for (const c of module.collections) {
    const target = physical(c);
    await dropCollection(db, target);
    await db.createCollection(target).catch((e: unknown) => {
      if (mongoErrorCode(e) !== NAMESPACE_EXISTS) throw e;
    });
    for (const ix of module.indexes?.[c] ?? []) {
      await db.collection(target).createIndex(ix.key, ix.unique ? { unique: true } : {});
    }
  }
}

/** Drops a collection; one that does not exist is fine (the fallback server says so without a code). */
export async function dropCollection(db: Db, name: string): Promise<void> {
  await db
    .collection(name)
    .drop()
    .catch((e: unknown) => {
      const notFound =
        mongoErrorCode(e) === NAMESPACE_NOT_FOUND || /ns not found/i.test(toError(e).message);
      if (!notFound) throw e;
    });
}

/**
 * Drops every collection, each even when an earlier drop failed (STYLE.md 9); rejects with the
 * failures collected.
 */
export async function dropAll(db: Db, names: readonly string[]): Promise<void> {
  const failures: Error[] = [];
  for (const name of names) {
    await dropCollection(db, name).catch((e: unknown) => failures.push(toError(e)));
  }
  if (failures.length > 0) {
    throw new AggregateError(failures, `could not drop ${failures.length} collection(s)`);
  }
}

/**
 * Puts `shadow` in place of `live` with one renameCollection (dropTarget): readers of `live`
 * see the old collection until the rename, then the new one — never a missing collection on
 * servers where the rename is atomic (a replica set's is).
 */
export async function swapIn(db: Db, shadow: string, live: string): Promise<void> {
  await db.renameCollection(shadow, live, { dropTarget: true });
}
