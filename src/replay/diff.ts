import type { Document } from 'mongodb';

/**
 * Field-by-field comparison of a stored read-model document with the one recomputed from
 * event_store (verify). Pure: no database.
 *
 *  - Plain objects are walked; a difference is reported at its dotted path (`steps.aml.status`).
 *    Arrays and BSON values (ObjectId, Decimal128, …) are compared whole.
 *  - A field missing on one side and present on the other is a difference (shown as MISSING).
 *  - Ignored paths: the engine's bookkeeping (`_appliedEvents`, `applied` markers) and the
 *    module's `verifyIgnore`; ignoring `a` ignores `a.b` too.
 *  - Numbers are equal within a relative 1e-9: counters shared by several aggregates sum in
 *    arrival order, which differs between the live run and the recompute, so doubles may differ
 *    in their last bits without either being wrong.
 */
export const ENGINE_FIELDS: readonly string[] = ['_appliedEvents', 'applied'];
export const MISSING: unique symbol = Symbol('missing');
/** Stands for a whole document that exists (verify reports missing and extra documents). */
export const PRESENT: unique symbol = Symbol('present');

export interface FieldDifference {
  field: string;
  stored: unknown;
  expected: unknown;
}

type Plain = Record<string, unknown>;

const isPlain = (v: unknown): v is Plain => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

const bsonType = (v: object): string | undefined => {
  const t = (v as { _bsontype?: unknown })._bsontype;
  return typeof t === 'string' ? t : undefined;
};

export function numbersEqual(a: number, b: number): boolean {
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

export function valuesEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return numbersEqual(a, b);
  if (a instanceof Date || b instanceof Date) {
    return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => valuesEqual(x, b[i]));
  }
  if (isPlain(a) && isPlain(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!valuesEqual(a[k], b[k])) return false;
    return true;
  }
  const ta = bsonType(a);
  return ta !== undefined && ta === bsonType(b) && JSON.stringify(a) === JSON.stringify(b);
}

function ignoredBy(ignore: readonly string[]): (path: string) => boolean {
  return (path) => ignore.some((i) => path === i || path.startsWith(`${i}.`));
}

export function diffDocuments(
  stored: Document,
  expected: Document,
  ignore: readonly string[] = [],
): FieldDifference[] {
  const ignored = ignoredBy([...ENGINE_FIELDS, ...ignore]);
  const out: FieldDifference[] = [];
  const walk = (s: Plain, e: Plain, prefix: string) => {
    const keys = [...new Set([...Object.keys(s), ...Object.keys(e)])].sort();
    for (const k of keys) {
      const path = prefix ? `${prefix}.${k}` : k;
      if (ignored(path)) continue;
      const sv = k in s && s[k] !== undefined ? s[k] : MISSING;
      const ev = k in e && e[k] !== undefined ? e[k] : MISSING;
      if (isPlain(sv) && isPlain(ev)) walk(sv, ev, path);
      else if (sv === MISSING || ev === MISSING) {
        if (sv !== ev) out.push({ field: path, stored: sv, expected: ev });
      } else if (!valuesEqual(sv, ev)) out.push({ field: path, stored: sv, expected: ev });
    }
  };
  walk(stored, expected, '');
  return out;
}

/** A short, readable rendering of a value for a difference line. */
export function showValue(v: unknown, max = 60): string {
  if (v === MISSING) return '(missing)';
  if (v === PRESENT) return '(present)';
  if (v instanceof Date) return v.toISOString();
  let text: string;
  if (typeof v === 'string') text = JSON.stringify(v);
  else if (typeof v === 'number' || typeof v === 'boolean' || v === null) text = String(v);
  else {
    try {
      text = JSON.stringify(v) ?? typeof v;
    } catch {
      text = `(${typeof v})`;
    }
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
