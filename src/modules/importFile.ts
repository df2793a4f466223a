import { randomUUID } from 'node:crypto';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { toError, usageError, type ProjectordError } from '../lib/errors.js';
import { describeImportFailure } from './importErrors.js';

/**
 * Imports module files and packages (DESIGN.md "TypeScript modules"):
 *  - `.js` / `.mjs` and packages: Node's own `import()`;
 *  - `.ts` / `.mts`: Node's own `import()` where Node strips types itself
 *    (`process.features.typescript`: Node ≥ 22.18 and 24), or where the host already compiles
 *    TypeScript (projectord run from its own sources, under vitest or tsx); elsewhere (Node 20,
 *    22 before 22.18) through tsx's ESM loader, registered in a namespace of its own so that
 *    only the imports started here are compiled and the rest of the process is untouched.
 * Where Node strips types but refuses a file that tsx accepts — syntax that is not erasable
 * (an enum, a namespace), a file under node_modules, a `./x.js` import of `x.ts`, a type
 * imported without `type` — tsx takes it over, so a module that runs on Node 20 runs on 24.
 * Every failure becomes a usage error (exit 2) naming the file, and the line when it has one.
 */
export interface ModuleSource {
  /** What every message calls it: the absolute path, or the package name. */
  label: string;
  /** What `import()` gets: a file URL or a package name. */
  specifier: string;
}

export interface ModuleImporter {
  /** The source's default export (a CommonJS-compiled `exports.default` is unwrapped). */
  importDefault(source: ModuleSource): Promise<unknown>;
}

type ScopedImport = (specifier: string, parentURL: string) => Promise<unknown>;

const TYPESCRIPT = new Set(['.ts', '.mts']);
const hostCompilesTypeScript = (): boolean => fileURLToPath(import.meta.url).endsWith('.ts');
const nodeStripsTypes = (): boolean =>
  Boolean((process.features as { typescript?: unknown }).typescript);

/** Node refused the file, but tsx would take it (see the module comment). */
function tsxCanTake(e: Error): boolean {
  const code = (e as { code?: unknown }).code;
  if (code === 'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX') return true;
  if (code === 'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING') return true;
  if (code === 'ERR_MODULE_NOT_FOUND') return true;
  return e.name === 'SyntaxError' && /does not provide an export named/.test(e.message);
}

function defaultExport(ns: unknown): unknown {
  let value = typeof ns === 'object' && ns !== null ? (ns as { default?: unknown }).default : ns;
  // A .ts file in a folder without "type": "module" is compiled to CommonJS by tsx, whose
  // namespace default is `module.exports`: the module's own default export is inside it.
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__esModule')) {
    value = (value as { default?: unknown }).default;
  }
  return value;
}

export function createModuleImporter(): ModuleImporter {
  let tsx: Promise<ScopedImport> | undefined;
  const tsxImport = (): Promise<ScopedImport> =>
    (tsx ??= import('tsx/esm/api').then(
      ({ register }) => register({ namespace: `projectord-${randomUUID()}` }).import,
    ));

  async function load(source: ModuleSource): Promise<unknown> {
    const typeScript = TYPESCRIPT.has(extname(source.label));
    if (!typeScript || hostCompilesTypeScript()) return import(source.specifier);
    if (!nodeStripsTypes()) return (await tsxImport())(source.specifier, import.meta.url);
    try {
      return await import(source.specifier);
    } catch (e) {
      if (!tsxCanTake(toError(e))) throw e;
      return (await tsxImport())(source.specifier, import.meta.url);
    }
  }

  return {
    async importDefault(source) {
      let ns: unknown;
      try {
        ns = await load(source);
      } catch (e) {
        throw importFailure(source, toError(e));
      }
      const value = defaultExport(ns);
      if (value === undefined) {
        throw usageError(
          'MODULE_INVALID',
          `Module ${source.label} has no default export. End it with ` +
            'export default defineProjection({ … }) or defineReaction({ … }).',
        );
      }
      return value;
    },
  };
}

function importFailure(source: ModuleSource, err: Error): ProjectordError {
  const { code, what } = describeImportFailure(source.label, err);
  return usageError(
    code,
    `Module ${source.label} ${what}. Fix the file (or remove it from modules.paths / ` +
      'modules.dir) and start again.',
    err,
  );
}
