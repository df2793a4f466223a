import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeImportFailure, locateIn } from '../../src/modules/importErrors.js';

/**
 * The messages of a module file that does not import, built from the error shapes each tool
 * really produces (copied from tsx 4 / esbuild, Node 24's type stripping, V8 and Node's module
 * loader). The built CLI's own run of the bad fixtures is in typescriptModules.int.test.ts.
 */
const BAD = resolve(import.meta.dirname, '../fixtures/modules/bad');
const file = join(BAD, 'syntax-error.ts');

const shaped = (name: string, message: string, props: Record<string, unknown> = {}): Error =>
  Object.assign(new Error(message), { name, ...props });

describe('describeImportFailure', () => {
  it('reads esbuild (tsx): file, line, column and the reason', () => {
    const err = shaped(
      'TransformError',
      `Transform failed with 1 error:\n${file}:5:30: ERROR: Expected ")" but found "=>"`,
    );
    expect(describeImportFailure(file, err)).toEqual({
      code: 'MODULE_SYNTAX_ERROR',
      what: 'has a syntax error at line 5, column 30: Expected ")" but found "=>"',
    });
  });

  it("reads Node's type stripping: the line from the stack", () => {
    const err = shaped('SyntaxError', "Expected ',', got ';'", {
      code: 'ERR_INVALID_TYPESCRIPT_SYNTAX',
    });
    err.stack = `${file}:5\nconst broken = (limit: number => limit;\n\nSyntaxError [ERR_INVALID_TYPESCRIPT_SYNTAX]: Expected ',', got ';'`;
    expect(describeImportFailure(file, err).what).toBe(
      "has a syntax error at line 5: Expected ',', got ';'",
    );
  });

  it('asks node --check for the line of a JavaScript syntax error V8 gives none for', () => {
    const mjs = join(BAD, 'syntax-error.mjs');
    const err = shaped('SyntaxError', "Unexpected token ','");
    err.stack = "SyntaxError: Unexpected token ','\n    at compileSourceTextModule (node:internal)";
    expect(describeImportFailure(mjs, err)).toEqual({
      code: 'MODULE_SYNTAX_ERROR',
      what: "has a syntax error at line 4: Unexpected token ','",
    });
  });

  it('gives the line an import-time throw came from, when the stack names the file', () => {
    const thrower = join(BAD, 'throws.ts');
    const err = new Error('kaboom');
    err.stack = `Error: kaboom\n    at ${pathToFileURL(thrower).href}:3:7\n    at ModuleJob.run`;
    expect(describeImportFailure(thrower, err)).toEqual({
      code: 'MODULE_IMPORT_FAILED',
      what: 'failed to import: kaboom (thrown at line 3, column 7)',
    });
  });

  it('says to use `import type` when a type was imported as a value', () => {
    const err = shaped(
      'SyntaxError',
      "The requested module 'projectord' does not provide an export named 'ProjectorEvent'",
    );
    const { code, what } = describeImportFailure(file, err);
    expect(code).toBe('MODULE_IMPORT_FAILED');
    expect(what).toContain('import it with `import type`');
  });

  it('names no line for a package, or when nothing says where', () => {
    expect(describeImportFailure('some-package', new Error('Cannot find package')).what).toBe(
      'failed to import: Cannot find package',
    );
    expect(locateIn('nothing here', file)).toBeUndefined();
  });
});
