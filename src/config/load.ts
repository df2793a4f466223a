import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { hostname } from 'node:os';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { toError, usageError } from '../lib/errors.js';
import { redactUri } from '../observability/redact.js';
import { configFromEnv } from './env.js';
import { configSchema, type Config } from './schema.js';

export interface ConfigSources {
  /** Path of a JSON or YAML file (`--config`, or PROJECTORD_CONFIG). */
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Values from CLI flags, already shaped like the config (undefined = flag not given). */
  flags?: Record<string, unknown>;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>) {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? merge(prev, v) : v;
  }
  return out;
}

/** Reads a JSON or YAML config file; a parse error names the file, line and column. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw usageError(
      'CONFIG_FILE_UNREADABLE',
      `Cannot read config file ${file}: ${toError(e).message}. Check the --config path.`,
    );
  }
  const isJson = extname(file).toLowerCase() === '.json';
  let value: unknown;
  if (isJson) {
    try {
      value = JSON.parse(text);
    } catch (e) {
      const msg = toError(e).message;
      const pos = /position (\d+)/.exec(msg);
      const at = pos ? lineCol(text, Number(pos[1])) : '';
      throw usageError('CONFIG_FILE_INVALID', `Config file ${file}${at} is not valid JSON: ${msg}`);
    }
  } else {
    const doc = parseDocument(text, { prettyErrors: true });
    const first = doc.errors[0];
    if (first) {
      const line = first.linePos?.[0];
      const at = line ? `:${line.line}:${line.col}` : '';
      throw usageError(
        'CONFIG_FILE_INVALID',
        `Config file ${file}${at} is not valid YAML: ${first.message.split('\n')[0] ?? ''}`,
      );
    }
    value = doc.toJS();
  }
  if (value === null || value === undefined) return {};
  if (!isPlainObject(value)) {
    throw usageError('CONFIG_FILE_INVALID', `Config file ${file} must hold an object of settings.`);
  }
  return value;
}

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `:${before.length}:${(before[before.length - 1]?.length ?? 0) + 1}`;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[], origin: string): string {
  return issues
    .map((i) => {
      const key = i.path.map(String).join('.');
      if (i.code === 'unrecognized_keys') {
        const prefix = key ? `${key}.` : '';
        return `unknown key ${i.keys.map((k) => `"${prefix}${k}"`).join(', ')}`;
      }
      return `"${key || '(root)'}": ${redactUri(i.message)}`;
    })
    .map((line) => `  - ${line}`)
    .join('\n')
    .replace(/^/, `Invalid configuration (${origin}):\n`);
}

/**
 * Resolves the configuration once: defaults < file < environment < flags, validated by the
 * schema. Throws a usage error (exit 2) naming every bad key before anything connects.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const file = sources.file ?? env.PROJECTORD_CONFIG;
  const fromFile = file ? readConfigFile(file) : {};
  const fromEnv = configFromEnv(env);
  const merged = merge(merge(fromFile, fromEnv), sources.flags ?? {});
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const origin = [file ? `file ${file}` : null, 'environment', 'flags']
      .filter(Boolean)
      .join(', ');
    throw usageError(
      'CONFIG_INVALID',
      `${formatIssues(result.error.issues, origin)}\nFix the keys above; the README lists every key with its type and default.`,
    );
  }
  const cfg = result.data;
  return Object.freeze({
    ...cfg,
    instanceId: cfg.instanceId ?? `${hostname()}-${process.pid}`,
  });
}
