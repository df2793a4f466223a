import { resolve } from 'node:path';
import { createUpcasterRegistry, type Upcaster } from '../dispatch/upcast.js';
import { usageError } from '../lib/errors.js';
import { builtinModulesDir, resolveModuleEntry, scanModulesDir } from './discover.js';
import { createModuleImporter, type ModuleImporter, type ModuleSource } from './importFile.js';
import { toModuleDefinition, toUpcasters } from './guard.js';
import type { ModuleDefinition } from './types.js';

/**
 * Loads the modules the configuration names (DESIGN.md "Module API"; STYLE.md practice 12):
 * either each `modules.paths` entry, or every module file in `modules.dir` (default: the
 * built-in bank modules) plus that folder's `upcasters.*` files. A default export that is an
 * array is a list of upcasters; anything else must be a module definition. Every problem —
 * a file that does not import, a malformed definition, two modules with one name, an unknown
 * name in `modules.enabled` — stops start-up with exit 2 and a message naming the file.
 * `.ts` / `.mts` files load like `.js` ones (importFile.ts says how).
 * Files load one at a time, in order, so the first problem reported is always the same one.
 */
export interface ModuleSelection {
  paths: readonly string[];
  dir?: string | undefined;
  enabled: readonly string[];
}

export interface LoadedModules {
  modules: ModuleDefinition[];
  upcasters: Upcaster[];
  /** Names of every module loaded, enabled or not (config keys may name any of them). */
  loaded: string[];
}

interface Found {
  modules: { module: ModuleDefinition; label: string }[];
  upcasters: Upcaster[];
  importer: ModuleImporter;
}

async function loadSource(
  source: ModuleSource,
  found: Found,
  upcastersOnly: boolean,
): Promise<void> {
  const value = await found.importer.importDefault(source);
  if (upcastersOnly || Array.isArray(value)) {
    found.upcasters.push(...toUpcasters(value, source.label));
    return;
  }
  const module = toModuleDefinition(value, source.label);
  const twin = found.modules.find((m) => m.module.name === module.name);
  if (twin) {
    throw usageError(
      'MODULE_DUPLICATE',
      `Two modules are named "${module.name}": ${twin.label} and ${source.label}. ` +
        'Module names must be unique: rename one, or load only one of the files.',
    );
  }
  found.modules.push({ module, label: source.label });
}

function selectEnabled(found: Found, enabled: readonly string[]): ModuleDefinition[] {
  const all = found.modules.map((m) => m.module);
  if (enabled.length === 0) return all;
  const names = new Set(all.map((m) => m.name));
  const unknown = enabled.filter((n) => !names.has(n));
  if (unknown.length > 0) {
    throw usageError(
      'MODULE_UNKNOWN',
      `modules.enabled names ${unknown.map((n) => `"${n}"`).join(', ')}, which no loaded module ` +
        `is called. Available: ${[...names].join(', ')}. Fix modules.enabled.`,
    );
  }
  return all.filter((m) => enabled.includes(m.name));
}

export async function loadModules(
  selection: ModuleSelection,
  options: { cwd: string },
): Promise<LoadedModules> {
  const found: Found = { modules: [], upcasters: [], importer: createModuleImporter() };
  let where: string;
  if (selection.paths.length > 0) {
    where = 'modules.paths';
    for (const entry of selection.paths) {
      await loadSource(resolveModuleEntry(entry, options.cwd), found, false);
    }
  } else {
    const dir =
      selection.dir === undefined ? builtinModulesDir() : resolve(options.cwd, selection.dir);
    where = dir;
    const files = scanModulesDir(dir);
    for (const source of files.modules) await loadSource(source, found, false);
    for (const source of files.upcasters) await loadSource(source, found, true);
  }
  if (found.modules.length === 0) {
    throw usageError(
      'MODULE_NONE',
      `No modules found in ${where}. Add module files (export default defineProjection(…)), ` +
        'or list them in modules.paths.',
    );
  }
  // Duplicate or cyclic upcasters are a start-up error too (the registry names the type).
  createUpcasterRegistry(found.upcasters);
  return {
    modules: selectEnabled(found, selection.enabled),
    upcasters: found.upcasters,
    loaded: found.modules.map((m) => m.module.name),
  };
}
