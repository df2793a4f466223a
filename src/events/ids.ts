import { ObjectId } from 'mongodb';

/**
 * Ids as command sides write them. The article's command side (DOMAIN.md "The event store")
 * writes `eventId`, `commandId` and `eventData.transferId` as ObjectIds; others write strings;
 * account ids may be either. projectord reads both and works with one canonical form — a
 * string, the 24-digit lowercase hex of an ObjectId — for every ordering key, guard, saga id,
 * deterministic event id and read-model id, so a transfer written with ObjectIds and the same
 * transfer written with their hex strings reach the same outcome.
 *
 * The other way round, a canonical id in a query matches both stored forms (`idMatch`): an
 * aggregate stored under ObjectId ids is read back and appended to under its own form.
 */
export type StoredId = string | ObjectId;

const HEX24 = /^[0-9a-f]{24}$/;

/** The canonical form of an id: a non-empty string as is, an ObjectId as its hex; else undefined. */
export function canonicalId(v: unknown): string | undefined {
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (v instanceof ObjectId) return v.toHexString();
  return undefined;
}

/** Whether a canonical id may also be stored as an ObjectId (24 lowercase hex digits). */
export function mayBeObjectId(id: string): boolean {
  return HEX24.test(id);
}

/** Every stored form a canonical id may have: itself, and its ObjectId when it is one's hex. */
export function storedForms(id: string): StoredId[] {
  return mayBeObjectId(id) ? [id, ObjectId.createFromHexString(id)] : [id];
}

/** A query operand matching a canonical id in any stored form (values only: `$eq` / `$in`). */
export function idMatch(id: string): { $eq: string } | { $in: StoredId[] } {
  return mayBeObjectId(id) ? { $in: storedForms(id) } : { $eq: id };
}

/** Whether two stored or canonical ids name the same thing. */
export function sameId(a: unknown, b: unknown): boolean {
  const x = canonicalId(a);
  return x !== undefined && x === canonicalId(b);
}
