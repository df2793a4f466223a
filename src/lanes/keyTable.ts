import type { EventItem } from './types.js';
import type { VersionMemory } from './versionMemory.js';

/**
 * The lane's per-key state: the queue of a busy key and, for aggregate keys, the last version
 * applied (duplicate and gap detection). One map lookup per event finds both.
 *
 * A key's queue exists only while it has entries (queues of high-cardinality keys are created on
 * demand and dropped when empty; their arrays are reused). An idle aggregate key stays as the
 * version memory, bounded: past `limit` keys the oldest idle one is forgotten first (insertion
 * order), which only means its next event is applied without the check — the guards still hold.
 * Keys of other ordering keys (sagas) keep nothing when idle.
 */
export type Task = (() => Promise<unknown>) & { abandon?: () => void };
export type Entry = EventItem | Task;

export interface KeyState {
  readonly key: string;
  /** Last version applied here (aggregate keys); -1 = not known. */
  version: number;
  /** Entries waiting, from `head` on; undefined while idle. */
  queue: Entry[] | undefined;
  head: number;
}

export interface KeyTable {
  /** The key's state, created when missing. */
  open(key: string): KeyState;
  get(key: string): KeyState | undefined;
  /** The key has no entries left: its queue goes back to the pool. */
  close(state: KeyState): void;
  /** Keys with entries. */
  readonly busy: number;
  readonly versions: VersionMemory;
}

export const MAX_REMEMBERED_AGGREGATES = 200_000;
const POOLED_QUEUES = 1024;

export function createKeyTable(keepIdle: boolean, limit = MAX_REMEMBERED_AGGREGATES): KeyTable {
  const states = new Map<string, KeyState>();
  const pool: Entry[][] = [];
  let busy = 0;

  function forgetOldest(): void {
    const oldest = states.values().next();
    // A busy key is never forgotten; the table may then hold a few more until it is idle.
    if (!oldest.done && oldest.value.queue === undefined) states.delete(oldest.value.key);
  }

  function create(key: string): KeyState {
    if (states.size >= limit) forgetOldest();
    const state: KeyState = { key, version: -1, queue: undefined, head: 0 };
    states.set(key, state);
    return state;
  }

  function open(key: string): KeyState {
    const state = states.get(key) ?? create(key);
    if (state.queue === undefined) {
      state.queue = pool.pop() ?? [];
      state.head = 0;
      busy++;
    }
    return state;
  }

  return {
    open,
    get: (key) => states.get(key),
    close(state) {
      const q = state.queue;
      if (q === undefined) return;
      state.queue = undefined;
      state.head = 0;
      busy--;
      q.length = 0;
      if (pool.length < POOLED_QUEUES) pool.push(q);
      if (!keepIdle || state.version < 0) states.delete(state.key);
    },
    get busy() {
      return busy;
    },
    versions: {
      get(aggregateId) {
        const v = states.get(aggregateId)?.version;
        return v === undefined || v < 0 ? undefined : v;
      },
      remember(aggregateId, version) {
        const state = states.get(aggregateId) ?? create(aggregateId);
        state.version = version;
      },
      advance(aggregateId, version) {
        const state = states.get(aggregateId);
        if (state && state.version >= 0 && state.version < version) state.version = version;
      },
    },
  };
}
