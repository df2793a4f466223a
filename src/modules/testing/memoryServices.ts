import type { CheckpointStore, CheckpointUpdate } from '../../checkpoint/store.js';
import type { DeadLetter, DeadLetterStore } from '../../lanes/deadLetters.js';

/**
 * In-memory stand-ins for the engine's small stores (checkpoints, dead letters), for the module
 * test kit and the in-process benchmarks. Dead letters are kept as the daemon would write them
 * (module, event, error with its field, attempts, status), in the order written; nothing here
 * performs operators' retry or skip requests.
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
    saveCatchUp: () => Promise.resolve({ ok: true }),
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

/** A dead letter as recorded: what projector_dead_letters would hold, without its bookkeeping. */
export type RecordedDeadLetter = Pick<
  DeadLetter,
  'module' | 'eventId' | 'aggregateId' | 'eventType' | 'version' | 'status' | 'attempts'
> & { key?: string; error?: DeadLetter['error'] };

export interface MemoryDeadLetters extends DeadLetterStore {
  /** Every entry written, in order. */
  readonly recorded: readonly RecordedDeadLetter[];
  /** Every entry written: "module event: message". */
  readonly entries: readonly string[];
}

type Entry = Omit<RecordedDeadLetter, 'status' | 'attempts'> & { attempts?: number };

export function createMemoryDeadLetters(): MemoryDeadLetters {
  const recorded: RecordedDeadLetter[] = [];
  const record = (status: DeadLetter['status']) => (e: Entry) => {
    recorded.push({
      module: e.module,
      eventId: e.eventId,
      aggregateId: e.aggregateId,
      eventType: e.eventType,
      version: e.version,
      ...(e.key === undefined ? {} : { key: e.key }),
      ...(e.error === undefined ? {} : { error: { ...e.error } }),
      attempts: e.attempts ?? 0,
      status,
    });
    return Promise.resolve();
  };
  return {
    park: record('parked'),
    wait: record('waiting'),
    invalid: (e) => record('invalid')(e).then(() => true),
    openKeys: () => Promise.resolve(new Set<string>()),
    requests: () => Promise.resolve([]),
    waiting: () => Promise.resolve([]),
    setStatus: () => Promise.resolve(),
    count: (module) => Promise.resolve(recorded.filter((r) => r.module === module).length),
    recorded,
    get entries() {
      return recorded.map((r) => `${r.module} ${r.eventId}: ${r.error?.message ?? 'waiting'}`);
    },
  };
}
