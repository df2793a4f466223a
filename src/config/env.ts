import type { z } from 'zod';
import { usageError } from '../lib/errors.js';
import { configSchema } from './schema.js';

/**
 * Environment layer: every leaf key of the schema has a variable named after its path,
 * `PROJECTORD_` + SCREAMING_SNAKE of the path: `writer.flushIntervalMs` is
 * PROJECTORD_WRITER_FLUSH_INTERVAL_MS, `mongoUri` is PROJECTORD_MONGO_URI.
 * Lists are comma-separated. A PROJECTORD_* variable that names no key is an error (a typo
 * would otherwise be ignored silently), except the few below that are read elsewhere.
 */
export const NON_CONFIG_ENV = new Set([
  'PROJECTORD_CACHE_DIR',
  'PROJECTORD_CONFIG',
  'PROJECTORD_EMBEDDED_BACKEND',
]);

export type LeafKind = 'string' | 'number' | 'boolean' | 'list';
export interface ConfigLeaf {
  path: string[];
  env: string;
  kind: LeafKind;
  schema: z.ZodType;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema as z.ZodType & { def: { type: string; innerType?: z.ZodType } };
  while (['default', 'optional', 'prefault', 'nullable'].includes(s.def.type) && s.def.innerType) {
    s = s.def.innerType;
  }
  return s;
}

export function envName(path: readonly string[]): string {
  return (
    'PROJECTORD_' +
    path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')
  );
}

export function configLeaves(schema: z.ZodType = configSchema, path: string[] = []): ConfigLeaf[] {
  const inner = unwrap(schema) as z.ZodType & {
    def: { type: string; shape?: Record<string, z.ZodType> };
  };
  if (inner.def.type === 'record') return []; // maps (modules.settings) come from the file only
  if (inner.def.type === 'object' && inner.def.shape) {
    return Object.entries(inner.def.shape).flatMap(([k, v]) => configLeaves(v, [...path, k]));
  }
  const t = inner.def.type;
  const kind: LeafKind =
    t === 'number' ? 'number' : t === 'boolean' ? 'boolean' : t === 'array' ? 'list' : 'string';
  return [{ path, env: envName(path), kind, schema }];
}

function coerce(leaf: ConfigLeaf, raw: string): unknown {
  switch (leaf.kind) {
    case 'number': {
      const n = Number(raw.trim());
      // Leave non-numbers as strings: the schema then reports "expected number" for the key.
      return raw.trim() === '' || Number.isNaN(n) ? raw : n;
    }
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
    default:
      return raw;
  }
}

export function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown) {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

/** The config fragment described by PROJECTORD_* variables. */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const leaves = new Map(configLeaves().map((l) => [l.env, l]));
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith('PROJECTORD_') || raw === undefined || NON_CONFIG_ENV.has(name)) continue;
    const leaf = leaves.get(name);
    if (!leaf) {
      throw usageError(
        'CONFIG_UNKNOWN_ENV',
        `Unknown environment variable ${name}: no configuration key matches it. ` +
          `Remove it or use one of the PROJECTORD_* names listed in the README's configuration reference.`,
      );
    }
    setPath(out, leaf.path, coerce(leaf, raw));
  }
  return out;
}
