import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configLeaves, envName } from '../../src/config/env.js';
import { loadConfig } from '../../src/config/load.js';
import { ProjectordError } from '../../src/lib/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'projectord-config-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
function failure(fn: () => unknown): ProjectordError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProjectordError);
    return e as ProjectordError;
  }
  throw new Error('expected a ProjectordError');
}

describe('configuration', () => {
  it('has defaults for everything', () => {
    const c = loadConfig({ env: {} });
    expect(c.db).toBe('event_sourcing_system');
    expect(c.metrics.port).toBe(9464);
    expect(c.writer.flushIntervalMs).toBeGreaterThanOrEqual(0);
    expect(c.instanceId).toMatch(/.+-\d+/);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('layers defaults < file < env < flags', () => {
    const f = file(
      'layers.yaml',
      'db: fromfile\nmetrics:\n  port: 1000\nwriter:\n  maxBatchSize: 7\n',
    );
    const c = loadConfig({
      file: f,
      env: { PROJECTORD_METRICS_PORT: '2000', PROJECTORD_DB: 'fromenv' },
      flags: { db: 'fromflag' },
    });
    expect(c.db).toBe('fromflag');
    expect(c.metrics.port).toBe(2000);
    expect(c.writer.maxBatchSize).toBe(7);
  });

  it('names env variables after the key path', () => {
    expect(envName(['writer', 'flushIntervalMs'])).toBe('PROJECTORD_WRITER_FLUSH_INTERVAL_MS');
    expect(envName(['mongoUri'])).toBe('PROJECTORD_MONGO_URI');
    expect(configLeaves().map((l) => l.env)).toContain('PROJECTORD_METRICS_PORT');
  });

  it('rejects an unknown key, naming it (exit 2)', () => {
    const err = failure(() =>
      loadConfig({ file: file('unknown.json', '{"writer":{"batchSize":3}}'), env: {} }),
    );
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('"writer.batchSize"');
  });

  it('rejects a wrong type, naming the key', () => {
    const err = failure(() => loadConfig({ env: { PROJECTORD_METRICS_PORT: 'abc' } }));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('"metrics.port"');
  });

  it('rejects a value outside an enumeration (source.confirmInserts)', () => {
    const err = failure(() =>
      loadConfig({ env: { PROJECTORD_SOURCE_CONFIRM_INSERTS: 'sometimes' } }),
    );
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('"source.confirmInserts"');
    expect(loadConfig({ env: {} }).source.confirmInserts).toBe('auto');
  });

  it('rejects an out-of-range value', () => {
    const err = failure(() => loadConfig({ env: {}, flags: { metrics: { port: 70000 } } }));
    expect(err.message).toContain('"metrics.port"');
  });

  it('bounds MongoDB operations (mongo.operationTimeoutMs): default, env, and a bad value', () => {
    expect(loadConfig({ env: {} }).mongo.operationTimeoutMs).toBe(30_000);
    const c = loadConfig({
      env: { PROJECTORD_MONGO_OPERATION_TIMEOUT_MS: '5000', PROJECTORD_MONGO_URI: 'mongodb://h' },
    });
    expect(c.mongo.operationTimeoutMs).toBe(5000);
    expect(c.mongoUri).toBe('mongodb://h');
    for (const bad of ['50', 'soon']) {
      const err = failure(() =>
        loadConfig({ env: { PROJECTORD_MONGO_OPERATION_TIMEOUT_MS: bad } }),
      );
      expect(err.exitCode).toBe(2);
      expect(err.message).toContain('"mongo.operationTimeoutMs"');
    }
  });

  it('keeps fired saga deadlines 30 days (deadlines.retentionMs): default, env, bad values', () => {
    expect(loadConfig({ env: {} }).deadlines.retentionMs).toBe(30 * 24 * 60 * 60 * 1000);
    const c = loadConfig({ env: { PROJECTORD_DEADLINES_RETENTION_MS: '7200000' } });
    expect(c.deadlines.retentionMs).toBe(7_200_000);
    for (const bad of ['60000', '-1', 'forever']) {
      const err = failure(() => loadConfig({ env: { PROJECTORD_DEADLINES_RETENTION_MS: bad } }));
      expect(err.exitCode).toBe(2);
      expect(err.message).toContain('"deadlines.retentionMs"');
    }
  });

  it('rejects a malformed URI without echoing its password', () => {
    const err = failure(() =>
      loadConfig({ env: { PROJECTORD_MONGO_URI: 'http://user:hunter2@host' } }),
    );
    expect(err.message).toContain('"mongoUri"');
    expect(err.message).not.toContain('hunter2');
  });

  it('rejects an unknown PROJECTORD_ variable', () => {
    const err = failure(() => loadConfig({ env: { PROJECTORD_METRIC_PORT: '1' } }));
    expect(err.message).toContain('PROJECTORD_METRIC_PORT');
  });

  it('names file and line of invalid YAML and JSON', () => {
    const y = failure(() =>
      loadConfig({ file: file('bad.yaml', 'db: x\nmetrics: [\n  port: 1\n'), env: {} }),
    );
    expect(y.exitCode).toBe(2);
    expect(y.message).toMatch(/bad\.yaml:\d+:\d+/);
    const j = failure(() => loadConfig({ file: file('bad.json', '{\n "db": "x",\n}\n'), env: {} }));
    expect(j.message).toMatch(/bad\.json(:\d+:\d+)? is not valid JSON/);
  });

  it('reports a missing config file', () => {
    const err = failure(() => loadConfig({ file: join(dir, 'nope.yaml'), env: {} }));
    expect(err.code).toBe('CONFIG_FILE_UNREADABLE');
  });
});
