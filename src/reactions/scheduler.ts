import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from 'mongodb';
import { toError } from '../lib/errors.js';
import type { Deadline } from '../modules/types.js';
import type { Logger } from '../observability/logger.js';
import {
  createDeadlineStore,
  type DeadlineScope,
  type DeadlineStore,
  type StoredDeadline,
} from './deadlines.js';

/**
 * Fires due deadlines of its modules. Every `pollMs` it claims due deadlines one by one (an
 * atomic pending → firing write, so of several schedulers exactly one wins each), hands each to
 * `fire` (the engine runs the module's onDeadline under the deadline's ordering key) and marks
 * it fired when `fire` resolves. While a handler runs, its claim is renewed each poll; a claim
 * left by a crashed process goes stale after `staleClaimMs` and is claimed again, so a deadline
 * due while the daemon was down, or half-fired at a crash, still fires. A failed fire goes back
 * to pending with a doubling delay. `fire` must reject when the handler failed.
 */
export interface DeadlineScheduler {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One polling round that waits for the fires it started; returns how many it claimed. */
  pollOnce(): Promise<number>;
}

export interface DeadlineSchedulerOptions {
  db: Db;
  now?: () => Date;
  pollMs: number;
  /**
   * The modules (or owned partitions of modules) whose deadlines it fires; a function follows a
   * changing set (leases).
   */
  modules: readonly DeadlineScope[] | (() => readonly DeadlineScope[]);
  fire(module: string, deadline: Deadline): Promise<void>;
  logger: Logger;
  /** Identifies this process in claims; default hostname-pid-random. */
  owner?: string;
  /** A claim not renewed for this long is considered abandoned. */
  staleClaimMs?: number;
  /** Deadlines being fired at once. */
  maxInFlight?: number;
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  store?: DeadlineStore;
}

type State = 'idle' | 'running' | 'stopped';

export function createDeadlineScheduler(o: DeadlineSchedulerOptions): DeadlineScheduler {
  const now = o.now ?? (() => new Date());
  const store = o.store ?? createDeadlineStore(o.db, now);
  const owner = o.owner ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const staleClaimMs = o.staleClaimMs ?? 60_000;
  const maxInFlight = o.maxInFlight ?? 16;
  const baseDelay = o.retryBaseDelayMs ?? 1_000;
  const maxDelay = o.retryMaxDelayMs ?? 60_000;
  const log = o.logger.child({ component: 'deadline-scheduler', owner });
  const inFlight = new Map<string, { deadline: StoredDeadline; done: Promise<void> }>();
  let state: State = 'idle';
  let starting: Promise<void> | undefined;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;

  async function fireOne(d: StoredDeadline): Promise<void> {
    const deadline: Deadline = { id: d.id, key: d.key, dueAt: d.dueAt, payload: d.payload };
    try {
      await o.fire(d.module, deadline);
    } catch (e) {
      const err = toError(e);
      const delay = Math.min(maxDelay, baseDelay * 2 ** Math.max(0, d.attempts - 1));
      log.warn({ err, module: d.module, deadline: d.id, attempts: d.attempts }, 'deadline failed');
      await store.release(d, err, new Date(now().getTime() + delay));
      return;
    }
    if (!(await store.markFired(d))) {
      log.warn({ module: d.module, deadline: d.id }, 'deadline claim was taken over while firing');
    }
  }

  /** Starts fires for what is due now; returns them without waiting. */
  async function claimDue(): Promise<Promise<void>[]> {
    const started: Promise<void>[] = [];
    const modules = typeof o.modules === 'function' ? o.modules() : o.modules;
    while (state !== 'stopped' && modules.length > 0 && inFlight.size < maxInFlight) {
      const d = await store.claimNext(modules, owner, staleClaimMs);
      if (!d) break;
      const done = fireOne(d)
        .catch((e: unknown) =>
          log.error({ err: toError(e), deadline: d.id }, 'deadline bookkeeping failed'),
        )
        .finally(() => inFlight.delete(d._id));
      inFlight.set(d._id, { deadline: d, done });
      started.push(done);
    }
    return started;
  }

  /** Keeps the claims of running handlers fresh so no other scheduler takes them over. */
  async function renewClaims(): Promise<void> {
    const renewBefore = now().getTime() - staleClaimMs / 3;
    for (const { deadline } of inFlight.values()) {
      if ((deadline.claimedAt?.getTime() ?? 0) > renewBefore) continue;
      const at = await store.renewClaim(deadline);
      if (at) deadline.claimedAt = at;
    }
  }

  async function run(): Promise<void> {
    while (state === 'running') {
      try {
        await renewClaims();
        // Fires run on; the next round claims more while they do (up to maxInFlight).
        void (await claimDue());
      } catch (e) {
        log.warn({ err: toError(e) }, 'polling deadlines failed; retrying');
      }
      if (state !== 'running') break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, o.pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    await Promise.allSettled([...inFlight.values()].map((f) => f.done));
  }

  return {
    start() {
      if (state === 'stopped') return Promise.reject(new Error('deadline scheduler was stopped'));
      starting ??= store.ensureIndexes().then(
        () => {
          if (state !== 'idle') return;
          state = 'running';
          loop = run();
        },
        (e: unknown) => {
          // Not cached: a start that failed (a dropped connection) may be tried again.
          starting = undefined;
          throw toError(e);
        },
      );
      return starting;
    },
    async stop() {
      if (state === 'idle' && !starting) return;
      await starting?.catch(() => undefined);
      state = 'stopped';
      wake?.();
      await loop;
    },
    async pollOnce() {
      await renewClaims();
      const started = await claimDue();
      await Promise.all(started);
      return started.length;
    },
  };
}
