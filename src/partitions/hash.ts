/**
 * The partition of an ordering key (DESIGN.md "Partitions"): FNV-1a, 32 bits, over the key's
 * UTF-8 bytes, then modulo the module's partition count:
 *
 *   h = 0x811c9dc5; for each byte b: h = (h XOR b) * 0x01000193 (mod 2^32); partition = h mod N
 *
 * Fixed here and never seeded, so every process, Node version and machine agrees on it; a
 * change would move keys between partitions of a running store, so it is a contract (its unit
 * test pins known values). The key is the canonical ordering key the lane orders by: the
 * aggregateId (a string once the envelope is validated) or the module's `orderingKey(event)`.
 * Unpaired surrogates count as U+FFFD, as `Buffer.from(key, 'utf8')` encodes them.
 */
const OFFSET_BASIS = 0x811c9dc5;
const PRIME = 0x01000193;

export function fnv1a32(key: string): number {
  let h = OFFSET_BASIS;
  const byte = (b: number) => {
    h = Math.imul(h ^ b, PRIME);
  };
  for (let i = 0; i < key.length; i++) {
    let c = key.charCodeAt(i);
    if (c < 0x80) {
      byte(c);
      continue;
    }
    if (c < 0x800) {
      byte(0xc0 | (c >> 6));
      byte(0x80 | (c & 0x3f));
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = key.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        byte(0xf0 | (c >> 18));
        byte(0x80 | ((c >> 12) & 0x3f));
        byte(0x80 | ((c >> 6) & 0x3f));
        byte(0x80 | (c & 0x3f));
        continue;
      }
      c = 0xfffd;
    }
    byte(0xe0 | (c >> 12));
    byte(0x80 | ((c >> 6) & 0x3f));
    byte(0x80 | (c & 0x3f));
  }
  return h >>> 0;
}

/** The partition (0 … count − 1) of an ordering key; always 0 when count is 1. */
export function partitionOf(key: string, count: number): number {
  return count === 1 ? 0 : fnv1a32(key) % count;
}
