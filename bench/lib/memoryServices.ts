import type { CheckpointStore, CheckpointUpdate } from '../../src/checkpoint/store.js';
import type { DeadLetterStore } from '../../src/lanes/deadLetters.js';

/**
 * In-memory stand-ins for the engine's small stores (checkpoints, dead letters), so the
 * in-process benchmarks touch no server. The benchmark expects no dead letter at all: each one
 * is kept and reported, and a run that has any is not a valid measurement.
 */
export interface MemoryCheckpoints extends CheckpointStore {
  readonly saves: number;
  last(module: string): CheckpointUpdate | undefined;
}

export function createMemoryCheckpoints(): MemoryCheckpoints {
  const stored = new Map<string, CheckpointUpdate>();
  let saves = 0;
  return {
    load: () => Promise.resolve(undefined),
    save(module, update) {
      saves++;
      stored.set(module, update);
      return Promise.resolve({ ok: true });
    },
    setMode: () => Promise.resolve(),
    reset(module) {
      stored.delete(module);
      return Promise.resolve();
    },
    get saves() {
      return saves;
    },
    last: (module) => stored.get(module),
  };
}

export interface MemoryDeadLetters extends DeadLetterStore {
  /** Every entry written: "module event: message". */
  readonly entries: readonly string[];
}

export function createMemoryDeadLetters(): MemoryDeadLetters {
  const entries: string[] = [];
  const record = (e: { module: string; eventId: string; error?: { message: string } }) => {
    entries.push(`${e.module} ${e.eventId}: ${e.error?.message ?? 'waiting'}`);
    return Promise.resolve();
  };
  return {
    park: record,
    wait: record,
    invalid: record,
    openKeys: () => Promise.resolve(new Set<string>()),
    requests: () => Promise.resolve([]),
    waiting: () => Promise.resolve([]),
    setStatus: () => Promise.resolve(),
    count: () => Promise.resolve(entries.length),
    entries,
  };
}
