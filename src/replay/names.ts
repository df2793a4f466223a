import { randomBytes } from 'node:crypto';

/**
 * Names of the collections rebuild and verify write instead of a module's live ones. A shadow
 * lives in the same database as its live collection (renameCollection swaps within one
 * database only) and its name starts with the live name, so an operator listing collections
 * sees which read model it belongs to:
 *  - rebuild: `<collection>__rebuild` — fixed, so a rebuild that crashed leaves one shadow per
 *    collection, which the next rebuild drops before it starts;
 *  - verify:  `<collection>__verify_<random>` and replay: `<collection>__replay_<random>` —
 *    random, so concurrent runs never collide; always dropped when the command ends.
 */
export const REBUILD_SUFFIX = '__rebuild';
export const VERIFY_SUFFIX = '__verify_';
export const REPLAY_SUFFIX = '__replay_';

export function rebuildName(collection: string): string {
  return `${collection}${REBUILD_SUFFIX}`;
}

export function verifyName(collection: string, tag: string): string {
  return `${collection}${VERIFY_SUFFIX}${tag}`;
}

export function replayName(collection: string, tag: string): string {
  return `${collection}${REPLAY_SUFFIX}${tag}`;
}

/** A short random tag for one verify run. */
export function randomTag(): string {
  return randomBytes(4).toString('hex');
}

/**
 * The physical-name function for a module's declared collections: each maps to `rename(c)`.
 * Anything undeclared is left as is (the module context rejects undeclared collections first).
 */
export function physicalMap(
  collections: readonly string[],
  rename: (collection: string) => string,
): (collection: string) => string {
  const map = new Map(collections.map((c) => [c, rename(c)]));
  return (c) => map.get(c) ?? c;
}
