/**
 * Credentials never reach a log line or an error message: every `scheme://user:password@`
 * becomes `scheme://user:***@`, and a bare `scheme://password@`... keeps only the scheme.
 */
const CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^:@/\s]+)(?::[^@/\s]*)?@/gi;

export function redactUri(text: string): string {
  return text.replace(CREDENTIALS, (_m, scheme: string, user: string) => `${scheme}${user}:***@`);
}

/** Deep-redacts strings inside a log object (used as pino's formatter). */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.includes('://') ? redactUri(value) : value;
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const err = value as Error & { code?: unknown };
    return {
      type: err.name,
      message: redactUri(err.message),
      ...(err.code === undefined ? {} : { code: err.code }),
      ...(err.stack === undefined ? {} : { stack: redactUri(err.stack) }),
    };
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, depth + 1);
  return out;
}
