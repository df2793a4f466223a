import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DESCRIPTIONS } from '../../src/config/descriptions.js';
import { configLeaves } from '../../src/config/env.js';
import { configKeys, configReference } from '../../src/config/reference.js';
import { GENERATED_DOCS } from '../../src/docs/generated.js';
import { METRICS } from '../../src/observability/metrics.js';

/** The reference docs are generated from the code; these fail when a doc is stale or thin. */
const REGENERATE = 'run `npx tsx scripts/gen-config-docs.ts` and commit the result';

describe('generated docs', () => {
  it.each(GENERATED_DOCS.map((d) => [d.path, d] as const))('%s is current', (path, doc) => {
    const stored = readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
    expect(stored === doc.render(), `${path} is stale: ${REGENERATE}`).toBe(true);
  });

  it('documents every configuration key with its environment variable', () => {
    const keys = configKeys();
    for (const leaf of configLeaves()) {
      const doc = keys.find((k) => k.key === leaf.path.join('.'));
      expect(doc?.env, leaf.env).toBe(leaf.env);
    }
    const undocumented = keys.filter((k) => !k.description).map((k) => k.key);
    expect(undocumented, 'add a line to src/config/descriptions.ts').toEqual([]);
    const unknown = Object.keys(CONFIG_DESCRIPTIONS).filter((d) => !keys.some((k) => k.key === d));
    expect(unknown, 'descriptions of keys the schema no longer has').toEqual([]);
  });

  it('shows types, limits and defaults from the schema', () => {
    const byKey = Object.fromEntries(configKeys().map((k) => [k.key, k]));
    expect(byKey['metrics.port']).toMatchObject({
      type: 'integer (≥ 0, ≤ 65535)',
      default: '`9464`',
      env: 'PROJECTORD_METRICS_PORT',
    });
    expect(byKey['leases.ttlMs']).toMatchObject({ type: 'integer (≥ 1000)', default: '`15000`' });
    expect(byKey['modules.settings']).toMatchObject({ env: null, default: '`{}`' });
    expect(byKey.mongoUri).toMatchObject({ default: '—', env: 'PROJECTORD_MONGO_URI' });
    expect(configReference()).toContain(
      '| `modules.settings` | map of objects | `{}` | file only |',
    );
  });

  it('lists every metric', () => {
    const metricsDoc = GENERATED_DOCS.find((d) => d.path === 'docs/METRICS.md')?.render() ?? '';
    for (const m of Object.values(METRICS)) expect(metricsDoc).toContain(`\`${m.name}\``);
  });
});
