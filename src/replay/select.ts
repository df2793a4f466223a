import { usageError } from '../lib/errors.js';
import type { ModuleDefinition, ProjectionDefinition } from '../modules/types.js';

/**
 * Which loaded modules an operator command works on. Only projections are ever re-run:
 * reactions append events and schedule deadlines, and re-running them would repeat those side
 * effects (DESIGN.md invariant 9), so naming one is a usage error.
 */
export function isProjection(m: ModuleDefinition): m is ProjectionDefinition {
  return m.kind === 'projection';
}

/** Refuses a reaction where only projections may run (checked at run time too: JS callers). */
export function assertProjection(m: ModuleDefinition, command: string): ProjectionDefinition {
  if (!isProjection(m)) {
    throw usageError(
      'MODULE_IS_REACTION',
      `"${m.name}" is a reaction, and reactions are never re-run by projectord ${command} ` +
        '(their appends and deadlines would repeat). Name a projection.',
    );
  }
  return m;
}

export function findModule(
  modules: readonly ModuleDefinition[],
  name: string,
  command: string,
): ProjectionDefinition {
  const found = modules.find((m) => m.name === name);
  if (!found) {
    const names = modules.map((m) => m.name).join(', ');
    throw usageError(
      'MODULE_UNKNOWN',
      `No module is called "${name}". Loaded modules: ${names || '(none)'}. ` +
        `Pass one of them to projectord ${command}.`,
    );
  }
  if (!isProjection(found)) {
    const projections = modules.filter(isProjection).map((m) => m.name);
    throw usageError(
      'MODULE_IS_REACTION',
      `"${name}" is a reaction, and reactions are never re-run (their appends and deadlines ` +
        `would repeat). projectord ${command} works on projections: ` +
        `${projections.join(', ') || '(none loaded)'}.`,
    );
  }
  return found;
}

/** The named projection, or every loaded projection when no name is given. */
export function selectProjections(
  modules: readonly ModuleDefinition[],
  name: string | undefined,
  command: string,
): ProjectionDefinition[] {
  if (name !== undefined) return [findModule(modules, name, command)];
  const all = modules.filter(isProjection);
  if (all.length === 0) {
    throw usageError(
      'MODULE_NONE',
      `No projection is loaded, so projectord ${command} has nothing to do. ` +
        'Check modules.paths / modules.dir / modules.enabled in the config.',
    );
  }
  return all;
}
