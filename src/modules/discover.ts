import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { usageError } from '../lib/errors.js';
import type { ModuleSource } from './importFile.js';
import { packageRoot } from '../lib/paths.js';

/**
 * Where module files are: a modules folder's files, or one `modules.paths` entry, each as a
 * source for the importer (importFile.ts). JavaScript (`.js`, `.mjs`) and TypeScript (`.ts`,
 * `.mts`) files are modules; declaration files are not.
 */
const MODULE_EXTENSIONS: readonly string[] = ['.js', '.mjs', '.ts', '.mts'];
const DECLARATION = /\.d\.m?ts$/;

const here = fileURLToPath(import.meta.url);

/** The built-in bank modules: `dist/projections` when built, `projections` from source. */
export function builtinModulesDir(): string {
  const root = packageRoot();
  const built = here.startsWith(join(root, 'dist') + sep);
  return built ? join(root, 'dist', 'projections') : join(root, 'projections');
}

const fileSource = (path: string): ModuleSource => ({
  label: path,
  specifier: pathToFileURL(path).href,
});

/**
 * The files of a modules folder, sorted by name: module files, and `upcasters.*` apart.
 * Not recursive (so `lib/` helpers are never taken for modules); declaration files skipped.
 */
export function scanModulesDir(dir: string): {
  modules: ModuleSource[];
  upcasters: ModuleSource[];
} {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw usageError(
      'MODULES_DIR_NOT_FOUND',
      `modules.dir ${dir} is not a folder. Point modules.dir at a folder of module files ` +
        '(relative to the working directory), or leave it out for the built-in bank modules.',
    );
  }
  const modules: ModuleSource[] = [];
  const upcasters: ModuleSource[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    const name = entry.name;
    if (!entry.isFile() || !MODULE_EXTENSIONS.includes(extname(name)) || DECLARATION.test(name))
      continue;
    const source = fileSource(join(dir, name));
    if (name.startsWith('upcasters.')) upcasters.push(source);
    else modules.push(source);
  }
  return { modules, upcasters };
}

/**
 * One `modules.paths` entry. A path (starting with `.` or `/`, or naming an existing file with
 * a module extension) is resolved against `cwd`; anything else is a package name, resolved
 * from `cwd` like `require.resolve` would, else from projectord's own location.
 */
export function resolveModuleEntry(entry: string, cwd: string): ModuleSource {
  const path = resolve(cwd, entry);
  const looksLikeFile =
    entry.startsWith('.') || isAbsolute(entry) || (/\.m?[jt]s$/.test(entry) && existsSync(path));
  if (!looksLikeFile) {
    try {
      return {
        label: entry,
        specifier: pathToFileURL(createRequire(join(cwd, 'noop.js')).resolve(entry)).href,
      };
    } catch {
      return { label: entry, specifier: entry };
    }
  }
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw usageError(
      'MODULE_NOT_FOUND',
      `modules.paths entry "${entry}": no file at ${path}. Paths are relative to ${cwd}; ` +
        'fix the path or remove the entry.',
    );
  }
  if (!MODULE_EXTENSIONS.includes(extname(path)) || DECLARATION.test(path)) {
    throw usageError(
      'MODULE_BAD_EXTENSION',
      `modules.paths entry "${entry}": ${path} is not a module file ` +
        `(${MODULE_EXTENSIONS.join(', ')}; not a .d.ts). List the module's own file.`,
    );
  }
  return fileSource(path);
}
