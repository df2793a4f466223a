import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { extname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { toError, usageError } from '../lib/errors.js';
import { packageRoot } from '../lib/paths.js';

/**
 * Where module files are and how they are imported. A source is what `import()` gets (a file
 * URL or a package name) plus the label every error message uses (the absolute path, or the
 * package name).
 *
 * TypeScript modules (`.ts`) are only importable when projectord itself runs from its
 * TypeScript sources (tests, tsx): then a loader is active that compiles them. The built CLI
 * loads `.js` and `.mjs`.
 */
export interface ModuleSource {
  label: string;
  specifier: string;
}

const here = fileURLToPath(import.meta.url);
const fromSource = (): boolean => here.endsWith('.ts');

export function moduleExtensions(): readonly string[] {
  return fromSource() ? ['.js', '.mjs', '.ts'] : ['.js', '.mjs'];
}

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
  const exts = moduleExtensions();
  const modules: ModuleSource[] = [];
  const upcasters: ModuleSource[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const entry of entries) {
    const name = entry.name;
    if (!entry.isFile() || !exts.includes(extname(name)) || /\.d\.m?ts$/.test(name)) continue;
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
    entry.startsWith('.') || isAbsolute(entry) || (/\.(m?js|ts)$/.test(entry) && existsSync(path));
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
  const exts = moduleExtensions();
  if (!exts.includes(extname(path))) {
    throw usageError(
      'MODULE_BAD_EXTENSION',
      `modules.paths entry "${entry}": ${path} is not a ${exts.join(' or ')} file. ` +
        'Compile TypeScript modules to JavaScript and list the .js file.',
    );
  }
  return fileSource(path);
}

/** Imports a module file or package and returns its default export. */
export async function importDefault(source: ModuleSource): Promise<unknown> {
  let ns: unknown;
  try {
    ns = await import(source.specifier);
  } catch (e) {
    const err = toError(e);
    throw usageError(
      'MODULE_IMPORT_FAILED',
      `Module ${source.label} failed to import: ${err.message}. Fix the file (or remove it from ` +
        'modules.paths / modules.dir) and start again.',
      err,
    );
  }
  const value =
    typeof ns === 'object' && ns !== null ? (ns as { default?: unknown }).default : undefined;
  if (value === undefined) {
    throw usageError(
      'MODULE_INVALID',
      `Module ${source.label} has no default export. End it with ` +
        'export default defineProjection({ … }) or defineReaction({ … }).',
    );
  }
  return value;
}
