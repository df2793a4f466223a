/**
 * One error type for everything projectord reports to a person: a stable code, a message that
 * says what was wrong and what to do, and the process exit code it maps to (DESIGN.md: 0 ok,
 * 1 failure found, 2 bad usage or bad config).
 */
export type ExitCode = 0 | 1 | 2;

export class ProjectordError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;

  constructor(
    code: string,
    message: string,
    options: { exitCode?: ExitCode; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProjectordError';
    this.code = code;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Bad usage or bad configuration: exit 2. */
export function usageError(code: string, message: string, cause?: unknown): ProjectordError {
  return new ProjectordError(code, message, { exitCode: 2, cause });
}

/** Normalises anything thrown into an Error, once, so every `catch` can rely on `.message`. */
export function toError(e: unknown): Error {
  if (e instanceof Error) return e;
  if (typeof e === 'string') return new Error(e);
  try {
    return new Error(JSON.stringify(e));
  } catch {
    return new Error(String(e));
  }
}

/** The numeric MongoDB error code of a driver error, if it has one. */
export function mongoErrorCode(e: unknown): number | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const code = e.code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

export function isDuplicateKeyError(e: unknown): boolean {
  return mongoErrorCode(e) === 11000;
}
