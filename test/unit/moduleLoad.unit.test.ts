import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProjectordError } from '../../src/lib/errors.js';
import { builtinModulesDir } from '../../src/modules/discover.js';
import { loadModules, type ModuleSelection } from '../../src/modules/load.js';

const FIXTURES = resolve(import.meta.dirname, '../fixtures/modules');
const cwd = FIXTURES;
const sel = (s: Partial<ModuleSelection>): ModuleSelection => ({ paths: [], enabled: [], ...s });

async function failure(s: Partial<ModuleSelection>, at = cwd): Promise<ProjectordError> {
  const e = await loadModules(sel(s), { cwd: at }).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(ProjectordError);
  const err = e as ProjectordError;
  expect(err.exitCode).toBe(2);
  return err;
}

describe('loadModules: finding modules', () => {
  it('loads the built-in bank modules and upcasters by default', async () => {
    expect(builtinModulesDir()).toBe(resolve(import.meta.dirname, '../../projections'));
    const { modules, upcasters } = await loadModules(sel({}), { cwd: tmpdir() });
    expect(modules.map((m) => m.name)).toEqual(
      expect.arrayContaining([
        'account-summary',
        'transaction-history',
        'balance-projections',
        'aggregate-snapshots',
      ]),
    );
    expect(upcasters.map((u) => `${u.eventType}@${u.fromVersion}`)).toContain('FundsDebited@1.0');
  });

  it('scans a folder in name order, skipping lib/, declarations and other files', async () => {
    const { modules, upcasters } = await loadModules(sel({ dir: 'good' }), { cwd });
    expect(modules.map((m) => [m.name, m.kind])).toEqual([
      ['alpha', 'projection'],
      ['beta', 'reaction'],
    ]);
    expect(modules[0]).toMatchObject({ version: 2, collections: ['alpha_view'] });
    expect(Object.isFrozen(modules[0])).toBe(true);
    expect(upcasters).toHaveLength(1);
    expect(upcasters[0]?.upcast({})).toEqual({ currency: 'USD' });
  });

  it('takes an absolute folder as is', async () => {
    const { modules } = await loadModules(sel({ dir: join(FIXTURES, 'good') }), { cwd: tmpdir() });
    expect(modules.map((m) => m.name)).toEqual(['alpha', 'beta']);
  });

  it('loads listed paths relative to cwd, with or without ./, and arrays as upcasters', async () => {
    const { modules, upcasters } = await loadModules(
      sel({ paths: ['./good/beta.mjs', 'good/alpha.mjs', join(FIXTURES, 'good/upcasters.mjs')] }),
      { cwd },
    );
    expect(modules.map((m) => m.name)).toEqual(['beta', 'alpha']);
    expect(upcasters.map((u) => u.eventType)).toEqual(['AccountCreated']);
  });

  it('ignores the folder when paths are listed', async () => {
    const { modules } = await loadModules(sel({ paths: ['./good/alpha.mjs'], dir: 'dupdir' }), {
      cwd,
    });
    expect(modules.map((m) => m.name)).toEqual(['alpha']);
  });

  it('imports a bare name as a package, resolved from cwd', async () => {
    const root = mkdtempSync(join(tmpdir(), 'projectord-pkg-'));
    const pkg = join(root, 'node_modules', 'projectord-fixture-module');
    mkdirSync(pkg, { recursive: true });
    writeFileSync(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'projectord-fixture-module', type: 'module', main: 'index.js' }),
    );
    writeFileSync(join(pkg, 'index.js'), readFileSync(join(FIXTURES, 'good/alpha.mjs')));
    const { modules } = await loadModules(sel({ paths: ['projectord-fixture-module'] }), {
      cwd: root,
    });
    expect(modules.map((m) => m.name)).toEqual(['alpha']);
  });

  it('runs only the enabled modules', async () => {
    const { modules } = await loadModules(sel({ dir: 'good', enabled: ['beta'] }), { cwd });
    expect(modules.map((m) => m.name)).toEqual(['beta']);
  });

  it('rejects an unknown enabled name, listing the available ones', async () => {
    const err = await failure({ dir: 'good', enabled: ['beta', 'gamma', 'delta'] });
    expect(err.code).toBe('MODULE_UNKNOWN');
    expect(err.message).toContain('"gamma", "delta"');
    expect(err.message).toContain('Available: alpha, beta');
  });
});

describe('loadModules: bad module files (exit 2, naming the file and the problem)', () => {
  it.each([
    ['not-object', /default export is 42, not a module/],
    ['no-default', /has no default export/],
    ['no-name', /name must be a non-blank string \(got nothing\)/],
    ['blank-name', /name must be a non-blank string \(got a blank string\)/],
    ['version-zero', /version must be a positive integer \(got 0\)/],
    ['version-fraction', /version must be a positive integer \(got 1\.5\)/],
    ['version-string', /version must be a positive integer \(got "1"\)/],
    ['handles-empty', /handles must be a non-empty array of event type names/],
    ['handles-not-strings', /handles must be a non-empty array of event type names/],
    ['handles-missing', /handles must be a non-empty array/],
    ['apply-not-function', /apply must be a function \(got "apply"\)/],
    ['react-not-function', /react must be a function \(got an object\)/],
    ['neither', /neither apply \(a projection\) nor react \(a reaction\)/],
    ['both', /a projection has no react/],
    ['bad-kind', /kind must be "projection" or "reaction" \(got "saga"\)/],
    ['no-collections', /collections is missing\. List every collection/],
    ['bad-collection-name', /collections must be an array of collection names/],
    ['ordering-key-not-function', /orderingKey must be a function/],
    ['upcaster-incomplete', /upcaster \[0\]: toVersion must be a non-blank string/],
    ['upcaster-not-function', /upcaster \[0\]: upcast must be a function/],
  ])('%s', async (name, problem) => {
    const file = join(FIXTURES, 'bad', `${name}.mjs`);
    const err = await failure({ paths: [`./bad/${name}.mjs`] });
    expect(err.code).toBe('MODULE_INVALID');
    expect(err.message).toContain(`Module ${file}`);
    expect(err.message).toMatch(problem);
  });

  it.each([
    ['throws', /kaboom at import time/],
    ['missing-import', /does-not-exist\.mjs/],
  ])('reports a file that fails to import (%s) with the import error', async (name, cause) => {
    const err = await failure({ paths: [`./bad/${name}.mjs`] });
    expect(err.code).toBe('MODULE_IMPORT_FAILED');
    expect(err.message).toContain(
      `Module ${join(FIXTURES, 'bad', `${name}.mjs`)} failed to import`,
    );
    expect(err.message).toMatch(cause);
    expect(err.cause).toBeInstanceOf(Error);
  });

  it('reports a package that is not installed', async () => {
    const err = await failure({ paths: ['projectord-no-such-module-pkg'] });
    expect(err.code).toBe('MODULE_IMPORT_FAILED');
    expect(err.message).toContain('Module projectord-no-such-module-pkg failed to import');
  });

  it('names both files of a duplicate module name', async () => {
    const err = await failure({ paths: ['./bad/dup-a.mjs', './bad/dup-b.mjs'] });
    expect(err.code).toBe('MODULE_DUPLICATE');
    expect(err.message).toContain('"twin"');
    expect(err.message).toContain(join(FIXTURES, 'bad/dup-a.mjs'));
    expect(err.message).toContain(join(FIXTURES, 'bad/dup-b.mjs'));
  });

  it('names both files of a duplicate in a scanned folder', async () => {
    const err = await failure({ dir: 'dupdir' });
    expect(err.code).toBe('MODULE_DUPLICATE');
    expect(err.message).toContain(join(FIXTURES, 'dupdir/one.mjs'));
    expect(err.message).toContain(join(FIXTURES, 'dupdir/two.mjs'));
  });

  it('rejects a missing file, naming the path and the cwd', async () => {
    const err = await failure({ paths: ['./nope/missing.mjs'] });
    expect(err.code).toBe('MODULE_NOT_FOUND');
    expect(err.message).toContain(join(FIXTURES, 'nope/missing.mjs'));
    expect(err.message).toContain(`relative to ${FIXTURES}`);
  });

  it('rejects a file that is not JavaScript', async () => {
    const err = await failure({ paths: ['./bad/not-a-module.txt'] });
    expect(err.code).toBe('MODULE_BAD_EXTENSION');
    expect(err.message).toContain('not-a-module.txt');
  });

  it('rejects a folder that does not exist', async () => {
    const err = await failure({ dir: 'no-such-dir' });
    expect(err.code).toBe('MODULES_DIR_NOT_FOUND');
    expect(err.message).toContain(join(FIXTURES, 'no-such-dir'));
  });

  it('rejects a folder without modules', async () => {
    const err = await failure({ dir: mkdtempSync(join(tmpdir(), 'projectord-empty-')) });
    expect(err.code).toBe('MODULE_NONE');
  });

  it('rejects a folder upcasters file that is not an array', async () => {
    const err = await failure({ dir: 'badupcasters' });
    expect(err.code).toBe('MODULE_INVALID');
    expect(err.message).toContain(join(FIXTURES, 'badupcasters/upcasters.mjs'));
    expect(err.message).toMatch(/must be an array \(got an object\)/);
  });

  it('rejects upcasters that form a cycle', async () => {
    const err = await failure({ paths: ['./good/alpha.mjs', './bad/upcasters-cycle.mjs'] });
    expect(err.code).toBe('UPCASTER_CYCLE');
  });
});

describe('loadModules: TypeScript module files', () => {
  it('loads .ts, .mts and .mjs modules side by side from a folder', async () => {
    const { modules } = await loadModules(sel({ dir: 'typescript' }), { cwd });
    expect(modules.map((m) => [m.name, m.kind])).toEqual([
      ['customers', 'projection'],
      ['orders', 'projection'],
      ['refunds', 'reaction'],
    ]);
  });

  it('loads a lone .ts module listed in modules.paths', async () => {
    const { modules } = await loadModules(sel({ paths: ['./typescript/orders.ts'] }), { cwd });
    expect(modules.map((m) => m.name)).toEqual(['orders']);
  });

  it('rejects a declaration file in modules.paths', async () => {
    const err = await failure({ paths: ['./good/alpha.d.ts'] });
    expect(err.code).toBe('MODULE_BAD_EXTENSION');
    expect(err.message).toContain('not a .d.ts');
  });

  it.each([
    ['syntax-error.ts', /line 5/],
    ['syntax-error.mjs', /line 4/],
  ])('names the file and the line of a syntax error (%s)', async (name, line) => {
    const err = await failure({ paths: [`./bad/${name}`] });
    expect(err.code).toBe('MODULE_SYNTAX_ERROR');
    expect(err.message).toContain(`Module ${join(FIXTURES, 'bad', name)} has a syntax error at`);
    expect(err.message).toMatch(line);
  });

  it('names the file of a .ts module that throws on import', async () => {
    const err = await failure({ paths: ['./bad/throws.ts'] });
    expect(err.code).toBe('MODULE_IMPORT_FAILED');
    expect(err.message).toContain(`Module ${join(FIXTURES, 'bad', 'throws.ts')} failed to import`);
    expect(err.message).toContain('kaboom in a TypeScript module');
  });

  it('names a .ts module without a default export', async () => {
    const err = await failure({ paths: ['./bad/no-default.ts'] });
    expect(err.code).toBe('MODULE_INVALID');
    expect(err.message).toContain(
      `Module ${join(FIXTURES, 'bad', 'no-default.ts')} has no default`,
    );
  });
});
