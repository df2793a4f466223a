import { spawnSync } from 'node:child_process';
import { extname, isAbsolute, relative } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { pathToFileURL } from 'node:url';

/**
 * What went wrong when a module file was imported, in words for the person who wrote it: a
 * syntax error (with its line), or an error thrown while the file ran (with the line of the file
 * it came from, when the stack names it). Three sources of syntax errors, three shapes:
 *  - esbuild (tsx): the message holds `path:line:column: ERROR: reason`;
 *  - Node's type stripping: the stack starts with `path:line`;
 *  - V8 parsing JavaScript: no location at all, so `node --check` is asked for it (only on this
 *    error path, once).
 * (Under vitest, where projectord runs from its sources, vite parses the files: its messages are
 * read the same way, with their colours taken out and paths relative to the working directory.)
 */
export interface ImportFailure {
  code: 'MODULE_SYNTAX_ERROR' | 'MODULE_IMPORT_FAILED';
  /** Completes "Module <label> …". */
  what: string;
}

interface Location {
  line: number;
  column?: number;
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function isSyntaxError(err: Error): boolean {
  if ((err as { code?: unknown }).code === 'ERR_INVALID_TYPESCRIPT_SYNTAX') return true;
  if (err.name === 'TransformError' || /^(Transform failed|Parse failure)/.test(err.message)) {
    return true;
  }
  return err.name === 'SyntaxError' && !/does not provide an export named/.test(err.message);
}

/** The first `path:line[:column]` (or `file://…:line`) in the error's message or stack. */
export function locateIn(text: string, path: string): Location | undefined {
  for (const where of [pathToFileURL(path).href, path, relative(process.cwd(), path)]) {
    const m = new RegExp(`${escapeRegExp(where)}:(\\d+)(?::(\\d+))?`).exec(text);
    if (m) return { line: Number(m[1]), ...(m[2] ? { column: Number(m[2]) } : {}) };
  }
  return undefined;
}

/** Where `node --check` finds the file's syntax error (JavaScript only). */
function checkedLocation(path: string): Location | undefined {
  if (!['.js', '.mjs', '.cjs'].includes(extname(path))) return undefined;
  const r = spawnSync(process.execPath, ['--check', path], { encoding: 'utf8', timeout: 15_000 });
  return r.status === 0 ? undefined : locateIn(r.stderr, path);
}

/** The reason alone: the message's first line that is not a parser's header or its location. */
function reasonOf(err: Error): string {
  const lines = stripVTControlCharacters(err.message)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^(Transform failed|Parse failure)/.test(l));
  const first = lines[0] ?? err.message;
  const reason = first.replace(/^.*?: ERROR: /, '').replace(/^\[[A-Z_]+\] /, '');
  if (/does not provide an export named/.test(reason)) {
    return `${reason} (if it is a type, import it with \`import type\`: types do not exist at run time)`;
  }
  return reason;
}

const at = (l: Location): string =>
  `line ${l.line}${l.column === undefined ? '' : `, column ${l.column}`}`;

export function describeImportFailure(label: string, err: Error): ImportFailure {
  const file = isAbsolute(label) ? label : undefined;
  const text = stripVTControlCharacters(`${err.message}\n${err.stack ?? ''}`);
  const reason = reasonOf(err);
  if (isSyntaxError(err)) {
    const where = file ? (locateIn(text, file) ?? checkedLocation(file)) : undefined;
    return {
      code: 'MODULE_SYNTAX_ERROR',
      what: `has a syntax error${where ? ` at ${at(where)}` : ''}: ${reason}`,
    };
  }
  const where = file ? locateIn(text, file) : undefined;
  return {
    code: 'MODULE_IMPORT_FAILED',
    what: `failed to import: ${reason}${where ? ` (thrown at ${at(where)})` : ''}`,
  };
}
