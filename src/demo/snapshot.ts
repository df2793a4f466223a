import type { Db, Document } from 'mongodb';
import { CHECKPOINTS } from '../checkpoint/store.js';
import { eventStore } from '../events/eventStore.js';
import { DEAD_LETTERS, OPEN_STATUSES } from '../lanes/deadLetters.js';
import type { ModuleStatus } from '../lifecycle/status.js';
import { lagMs } from '../observability/daemonMetrics.js';
import { SAGA_DEADLINES } from '../reactions/deadlines.js';
import { TRANSFER_SAGA_STATE } from '../../projections/lib/saga-transfer-state.js';

/**
 * One look at the demo's daemon and database, taken every poll: what the live table shows and
 * what "caught up" is judged on. The daemon's in-memory status gives mode, pending work and lag;
 * the database gives what is durable (checkpoints, dead letters, saga states, the store's tail),
 * so "caught up" never trusts work that is only in flight.
 */
export interface ModuleRow {
  module: string;
  mode: string;
  /** Events applied, as counted by the module's saved checkpoint. */
  applied: number;
  pending: number;
  /** null: the oldest pending event has no time. */
  lagMs: number | null;
  deadLetters: number;
  /** Append time of the newest event the saved checkpoint covers. */
  checkpointEventAt: Date | null;
}

export interface DemoSnapshot {
  at: Date;
  modules: ModuleRow[];
  /** Events in event_store, and the append time of the newest one. */
  events: number;
  newestEventAt: Date | null;
  /** transfer_saga_state documents by `state`. */
  sagaStates: Record<string, number>;
  /** Saga deadlines not yet fired that fall due within the horizon (work still to come). */
  dueDeadlines: number;
}

export interface SnapshotSource {
  db: Db;
  status(): readonly ModuleStatus[];
  /** Deadlines due within this much from now count as work still to come. */
  horizonMs: number;
  now?(): Date;
}

const asDate = (v: unknown): Date | null => (v instanceof Date ? v : null);
const asNumber = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

async function countBy(db: Db, collection: string, field: string, match: Document = {}) {
  const rows = await db
    .collection(collection)
    .aggregate<{ _id: unknown; n: number }>([
      { $match: match },
      { $group: { _id: `$${field}`, n: { $sum: 1 } } },
    ])
    .toArray();
  return new Map(rows.map((r) => [String(r._id), asNumber(r.n)]));
}

export async function takeSnapshot(src: SnapshotSource): Promise<DemoSnapshot> {
  const { db } = src;
  const at = src.now?.() ?? new Date();
  const statuses = src.status();
  const [checkpoints, deadLetters, sagaStates, dueDeadlines, events, newest] = await Promise.all([
    db.collection<Document>(CHECKPOINTS).find({}).toArray(),
    countBy(db, DEAD_LETTERS, 'module', { status: { $in: [...OPEN_STATUSES, 'invalid'] } }),
    countBy(db, TRANSFER_SAGA_STATE, 'state'),
    db.collection(SAGA_DEADLINES).countDocuments({
      status: { $in: ['pending', 'firing'] },
      dueAt: { $lte: new Date(at.getTime() + src.horizonMs) },
    }),
    eventStore(db).countDocuments({}),
    eventStore(db)
      .find({}, { projection: { storedAt: 1 } })
      .sort({ _id: -1 })
      .limit(1)
      .next(),
  ]);
  const saved = new Map(checkpoints.map((c) => [String(c._id), c]));
  const modules = statuses.map((s): ModuleRow => {
    const cp = saved.get(s.module);
    return {
      module: s.module,
      mode: s.mode,
      applied: asNumber(cp?.eventsApplied),
      pending: s.pending,
      lagMs: lagMs(s, at),
      deadLetters: deadLetters.get(s.module) ?? 0,
      checkpointEventAt: asDate(cp?.lastEventAt),
    };
  });
  return {
    at,
    modules,
    events,
    newestEventAt: asDate(newest?.storedAt),
    sagaStates: Object.fromEntries(sagaStates),
    dueDeadlines,
  };
}
