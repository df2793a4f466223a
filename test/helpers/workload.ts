import { ObjectId, type Db, type Document } from 'mongodb';
import { ensureEventStoreIndexes, eventStore } from '../../src/events/eventStore.js';

/**
 * A writer of `TestEvent`s for the engine's fault-injection tests: `events` events spread over
 * `aggregates` aggregates (seeded), inserted in batches with `insertMany`. It is the only writer
 * of its aggregates, so it numbers versions itself (1..n per aggregate, gap-free) and each batch
 * is inserted in order: when `stop()` returns, every aggregate's stream is a gap-free prefix.
 * Throttling paces batches to `eventsPerSecond`; pacing is load shaping, never synchronisation.
 */
export interface WorkloadOptions {
  events: number;
  aggregates: number;
  seed: number;
  /** Aggregate ids are `${prefix}-${i}`; distinct prefixes keep workloads in one db apart. */
  aggregatePrefix?: string;
  batchSize?: number;
  /** Unthrottled when absent. */
  eventsPerSecond?: number;
}

export interface WorkloadResult {
  events: number;
  /** Last version written per aggregate (absent = none written). */
  versions: ReadonlyMap<string, number>;
}

export interface Workload {
  /** Resolves when all events are written or `stop()` took effect; rejects on a write error. */
  readonly done: Promise<WorkloadResult>;
  /** Events written so far. */
  written(): number;
  /** Stops after the batch in flight; idempotent. */
  stop(): Promise<WorkloadResult>;
}

/** mulberry32: a small seeded PRNG, so a failing run can be repeated from its logged seed. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed from PROJECTORD_TEST_SEED (to repeat a run) or a fresh one. */
export function testSeed(): number {
  const fromEnv = process.env.PROJECTORD_TEST_SEED;
  return fromEnv ? Number(fromEnv) : Math.floor(Math.random() * 2 ** 31);
}

export function testEvent(aggregateId: string, version: number, at: Date): Document {
  return {
    eventId: new ObjectId(),
    aggregateId,
    aggregateType: 'Test',
    eventType: 'TestEvent',
    eventVersion: '1.0',
    version,
    eventTimestamp: at,
    storedAt: at,
    commandId: new ObjectId(),
    eventData: { n: version },
    eventMetadata: {},
  };
}

export function startWorkload(db: Db, opts: WorkloadOptions): Workload {
  const prefix = opts.aggregatePrefix ?? 'agg';
  const batchSize = opts.batchSize ?? 50;
  const rng = createRng(opts.seed);
  const versions = new Map<string, number>();
  let written = 0;
  let stopped = false;
  const result = (): WorkloadResult => ({ events: written, versions: new Map(versions) });

  async function run(): Promise<WorkloadResult> {
    await ensureEventStoreIndexes(db);
    const started = Date.now();
    while (!stopped && written < opts.events) {
      if (opts.eventsPerSecond !== undefined) {
        const due = started + (written / opts.eventsPerSecond) * 1000;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
      const now = new Date();
      const batch: Document[] = [];
      const next = new Map(versions);
      for (let i = 0; i < Math.min(batchSize, opts.events - written); i++) {
        const aggregateId = `${prefix}-${Math.floor(rng() * opts.aggregates)}`;
        const version = (next.get(aggregateId) ?? 0) + 1;
        next.set(aggregateId, version);
        batch.push(testEvent(aggregateId, version, now));
      }
      await eventStore(db).insertMany(batch, { ordered: true });
      for (const [id, v] of next) versions.set(id, v);
      written += batch.length;
    }
    return result();
  }

  const done = run();
  return {
    done,
    written: () => written,
    stop: () => {
      stopped = true;
      return done;
    },
  };
}
