import { z } from 'zod';
import { CONFIG_DESCRIPTIONS } from './descriptions.js';
import { configLeaves } from './env.js';
import { configSchema } from './schema.js';

/**
 * docs/CONFIGURATION.md, generated from the schema so the reference cannot drift from what
 * start-up accepts: every key with its type and limits, default and environment variable
 * (scripts/gen-config-docs.ts writes it; a unit test fails when the file is stale).
 */
export interface ConfigKeyDoc {
  key: string;
  type: string;
  default: string;
  env: string | null;
  description: string | undefined;
}

interface JsonNode {
  type?: string;
  properties?: Record<string, JsonNode>;
  additionalProperties?: unknown;
  default?: unknown;
  enum?: unknown[];
  items?: JsonNode;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

const UNBOUNDED = Number.MAX_SAFE_INTEGER;

function bounds(n: JsonNode): string {
  const low =
    n.exclusiveMinimum !== undefined
      ? `> ${n.exclusiveMinimum}`
      : n.minimum !== undefined
        ? `≥ ${n.minimum}`
        : '';
  const high =
    n.exclusiveMaximum !== undefined
      ? `< ${n.exclusiveMaximum}`
      : n.maximum !== undefined && n.maximum < UNBOUNDED
        ? `≤ ${n.maximum}`
        : '';
  return [low, high].filter(Boolean).join(', ');
}

function typeOf(n: JsonNode): string {
  if (n.enum) return `one of ${n.enum.map((v) => `\`${String(v)}\``).join(', ')}`;
  if (n.type === 'array') return `list of ${n.items?.type ?? 'value'}s`;
  if (n.type === 'object') {
    const values = n.additionalProperties as JsonNode | undefined;
    return values?.type && values.type !== 'object' ? `map of ${typeOf(values)}` : 'map of objects';
  }
  const b = n.type === 'integer' || n.type === 'number' ? bounds(n) : '';
  return b ? `${n.type ?? 'value'} (${b})` : (n.type ?? 'value');
}

function showDefault(v: unknown): string {
  if (v === undefined) return '—';
  if (typeof v === 'number') return `\`${v}\``;
  return `\`${JSON.stringify(v)}\``;
}

/** Every configuration key, in schema order, including maps that only a file can set. */
export function configKeys(): ConfigKeyDoc[] {
  const envs = new Map(configLeaves().map((l) => [l.path.join('.'), l.env]));
  const root = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonNode;
  const out: ConfigKeyDoc[] = [];
  const walk = (node: JsonNode, path: string[]) => {
    if (node.type === 'object' && node.properties) {
      for (const [k, child] of Object.entries(node.properties)) walk(child, [...path, k]);
      return;
    }
    const key = path.join('.');
    out.push({
      key,
      type: typeOf(node),
      default: showDefault(node.default),
      env: envs.get(key) ?? null,
      description: CONFIG_DESCRIPTIONS[key],
    });
  };
  walk(root, []);
  return out;
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function configReference(): string {
  const rows = configKeys().map(
    (k) =>
      `| \`${k.key}\` | ${cell(k.type)} | ${cell(k.default)} | ${k.env ? `\`${k.env}\`` : 'file only'} | ${cell(k.description ?? '')} |`,
  );
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npx tsx scripts/gen-config-docs.ts`; do not edit. -->',
    '',
    'Layers, lowest first: these defaults < the config file (`--config <file>` or',
    '`PROJECTORD_CONFIG`, JSON or YAML) < `PROJECTORD_*` environment variables < command-line',
    'flags (`--mongo-uri`, `--db`, `--log-level`, `--metrics-host`, `--metrics-port`,',
    '`--instance-id`). In the file, keys nest: `writer.flushIntervalMs` is `writer:` →',
    '`flushIntervalMs:`. Lists in environment variables are comma-separated.',
    '',
    'Everything is checked at start-up, before anything is written: an unknown key, an unknown',
    '`PROJECTORD_*` variable, a wrong type or a value out of range stops projectord with exit',
    'code 2 and a message naming the key.',
    '',
    '| key | type | default | environment variable | what it does |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
