/**
 * Values from events are only ever values (DESIGN.md invariant 7). Inside values written to
 * read models, keys that start with `$` or contain `.` would be read by MongoDB as operators or
 * paths; they are replaced by look-alike full-width characters (＄ U+FF04, ． U+FF0E) so the data
 * is stored as plain data and stays readable. Only plain objects and arrays are walked;
 * Dates, ObjectIds and other BSON values pass through untouched.
 */
const DOLLAR = '\uFF04';
const DOT = '\uFF0E';

export function escapeKey(key: string): string {
  let k = key;
  if (k.startsWith('$')) k = DOLLAR + k.slice(1);
  if (k.includes('.')) k = k.split('.').join(DOT);
  return k;
}

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** True when a value has nothing to escape (the common case): it can be written as it is. */
function alreadyPlain(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object') {
    return typeof value !== 'number' || Number.isFinite(value);
  }
  if (depth > 32) return false;
  if (Array.isArray(value)) return value.every((v) => alreadyPlain(v, depth + 1));
  if (!isPlainObject(value)) return true;
  for (const k in value) {
    const v = (value as Record<string, unknown>)[k];
    if (k.charCodeAt(0) === 36 /* $ */ || k.includes('.') || v === undefined) return false;
    if (!alreadyPlain(v, depth + 1)) return false;
  }
  return true;
}

export function plainValue(value: unknown): unknown {
  return alreadyPlain(value) ? value : escapeValue(value);
}

function escapeValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'number' && !Number.isFinite(value) ? null : value;
  }
  if (Array.isArray(value)) return value.map(escapeValue);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined) out[escapeKey(k)] = escapeValue(v);
  }
  return out;
}

/**
 * A top-level key of an update section: chosen by module code and possibly a dotted path
 * ("totals.fees"), so only a leading `$` is escaped.
 */
export function sectionKey(key: string): string {
  return key.charCodeAt(0) === 36 /* $ */ ? DOLLAR + key.slice(1) : key;
}

/** The top level of an update section: keys as `sectionKey`, values made plain. */
export function plainFields(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!fields) return out;
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out[sectionKey(k)] = plainValue(v);
  }
  return out;
}
