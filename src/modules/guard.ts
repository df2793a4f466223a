import type { Upcaster } from '../dispatch/upcast.js';
import { usageError, type ProjectordError } from '../lib/errors.js';
import type { ModuleDefinition } from './types.js';

/**
 * Runtime guards for what a module file exports: TypeScript types do not survive into a user's
 * compiled JavaScript, so every field the engine relies on is checked at start-up, and each
 * problem becomes a ProjectordError (exit 2) naming the file, the field and what to write.
 */
type Obj = Record<string, unknown>;

const HOW = 'export default defineProjection({ name, version, handles, collections, apply })';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.trim() === '' ? 'a blank string' : `"${v}"`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === undefined) return 'nothing';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

function invalid(file: string, problem: string, fix: string): ProjectordError {
  return usageError('MODULE_INVALID', `Module ${file}: ${problem}. ${fix}`);
}

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
const isTextList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isText);

/** A collection name MongoDB accepts and that cannot address another namespace. */
const isCollectionName = (v: unknown): boolean =>
  isText(v) && !v.includes('$') && !v.includes('\0') && !v.startsWith('system.');

function checkFunction(file: string, m: Obj, key: string, required: boolean, at = ''): void {
  const v = m[key];
  if (v === undefined && !required) return;
  if (typeof v !== 'function') {
    throw invalid(
      file,
      `${at}${key} must be a function (got ${describe(v)})`,
      `Give it ${key}(…) { … }.`,
    );
  }
}

function kindOf(file: string, m: Obj): 'projection' | 'reaction' {
  const declared = m.kind;
  if (declared !== undefined && declared !== 'projection' && declared !== 'reaction') {
    throw invalid(
      file,
      `kind must be "projection" or "reaction" (got ${describe(declared)})`,
      'Make it with defineProjection or defineReaction.',
    );
  }
  if (declared === 'projection' || (declared === undefined && m.apply !== undefined)) {
    if (m.react !== undefined) {
      throw invalid(file, 'a projection has no react', 'Use apply only, or defineReaction.');
    }
    checkFunction(file, m, 'apply', true);
    return 'projection';
  }
  if (declared === 'reaction' || m.react !== undefined) {
    if (m.apply !== undefined) {
      throw invalid(file, 'a reaction has no apply', 'Use react only, or defineProjection.');
    }
    checkFunction(file, m, 'react', true);
    checkFunction(file, m, 'onDeadline', false);
    return 'reaction';
  }
  throw invalid(
    file,
    'it has neither apply (a projection) nor react (a reaction)',
    'Give it apply(event, ctx) or react(event, ctx).',
  );
}

/** Checks a module file's default export and returns it as a frozen definition. */
export function toModuleDefinition(value: unknown, file: string): ModuleDefinition {
  if (!isObject(value)) {
    throw invalid(file, `the default export is ${describe(value)}, not a module`, `Write ${HOW}.`);
  }
  const m = value;
  if (!isText(m.name)) {
    throw invalid(
      file,
      `name must be a non-blank string (got ${describe(m.name)})`,
      `Write ${HOW}.`,
    );
  }
  if (typeof m.version !== 'number' || !Number.isInteger(m.version) || m.version < 1) {
    throw invalid(
      file,
      `version must be a positive integer (got ${describe(m.version)})`,
      'Start at version: 1 and bump it to rebuild.',
    );
  }
  if (!isTextList(m.handles) || m.handles.length === 0) {
    throw invalid(
      file,
      'handles must be a non-empty array of event type names',
      "List the types it handles, e.g. handles: ['FundsDebited'].",
    );
  }
  const kind = kindOf(file, m);
  if (!Array.isArray(m.collections) || !m.collections.every(isCollectionName)) {
    throw invalid(
      file,
      m.collections === undefined
        ? 'collections is missing'
        : 'collections must be an array of collection names (no "$", not "system.…")',
      'List every collection the module writes: rebuild and verify work on exactly these.',
    );
  }
  if (m.verifyIgnore !== undefined && !isTextList(m.verifyIgnore)) {
    throw invalid(file, 'verifyIgnore must be an array of field names', 'Fix or remove it.');
  }
  if (m.indexes !== undefined && !isObject(m.indexes)) {
    throw invalid(
      file,
      'indexes must be an object of collection → index list',
      'Fix or remove it.',
    );
  }
  checkFunction(file, m, 'orderingKey', false);
  return Object.freeze({ ...m, kind }) as unknown as ModuleDefinition;
}

/** Checks a list of upcasters (the default export of an `upcasters` file). */
export function toUpcasters(value: unknown, file: string): Upcaster[] {
  if (!Array.isArray(value)) {
    throw invalid(
      file,
      `an upcaster file's default export must be an array (got ${describe(value)})`,
      "Write export default [defineUpcaster('Type', '1.0', '2.0', (data) => …)].",
    );
  }
  return value.map((u: unknown, i) => {
    const at = `upcaster [${i}]`;
    if (!isObject(u))
      throw invalid(file, `${at} is ${describe(u)}`, 'Make it with defineUpcaster.');
    for (const key of ['eventType', 'fromVersion', 'toVersion'] as const) {
      if (!isText(u[key])) {
        throw invalid(
          file,
          `${at}: ${key} must be a non-blank string (got ${describe(u[key])})`,
          'Make it with defineUpcaster.',
        );
      }
    }
    if (u.fromVersion === u.toVersion) {
      throw invalid(
        file,
        `${at} goes from ${String(u.fromVersion)} to itself`,
        'Give toVersion the next version.',
      );
    }
    checkFunction(file, u, 'upcast', true, `${at}: `);
    return u as unknown as Upcaster;
  });
}
