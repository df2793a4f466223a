/**
 * Bounds on waits for MongoDB. After a dropped connection the driver can leave an operation
 * unsettled for good (seen with driver 7 behind a connection-cutting proxy: a write or a
 * killCursors on a socket reset under it, with no error and no reply); a silent network
 * partition does the same to any read. Every wait the daemon's progress depends on — a write
 * batch, a checkpoint save, a change-stream read — goes through `within`, so such an operation
 * fails as an infrastructure error and is retried instead of holding a lane, an epoch or a
 * shutdown forever. The abandoned operation may still land later: every write is idempotent.
 */
export class OperationTimeoutError extends Error {
  constructor(what: string, ms: number, setting = 'mongo.operationTimeoutMs') {
    super(`${what}: not settled within ${ms} ms (${setting}); retrying`);
    this.name = 'OperationTimeoutError';
  }
}

/**
 * Settles like `p`, or rejects with `onTimeout()` after `ms` (0: no bound). The one race against
 * a timer in the code base: the daemon, the health endpoint, the server starter and the benchmarks
 * all bound their waits with it.
 */
export async function deadline<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  if (ms <= 0) return p;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** `deadline` for a MongoDB wait: the timeout is an OperationTimeoutError (infrastructure). */
export function within<T>(p: Promise<T>, ms: number, what: string, setting?: string): Promise<T> {
  return deadline(p, ms, () => new OperationTimeoutError(what, ms, setting));
}

/**
 * The same object with every method's promise bounded by `within` (methods that return no
 * promise are passed through). For stores whose every method is one MongoDB round trip.
 */
export function bounded<T extends object>(target: T, ms: number, label: string): T {
  if (ms <= 0) return target;
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value: unknown = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        const result: unknown = Reflect.apply(value as (...a: unknown[]) => unknown, obj, args);
        return result instanceof Promise ? within(result, ms, `${label}.${String(prop)}`) : result;
      };
    },
  });
}
