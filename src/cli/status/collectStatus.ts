import type { Db, Document } from 'mongodb';
import { catchUpFromStored, CHECKPOINTS } from '../../checkpoint/store.js';
import { eventStore } from '../../events/eventStore.js';
import { DEAD_LETTERS } from '../../lanes/deadLetters.js';
import { shownMode } from '../../lifecycle/status.js';
import { LEASES_COLLECTION } from '../../leases/leaseManager.js';
import { formatSeconds } from './renderStatus.js';

/**
 * What `projectord status` shows, read from the daemon's own collections (the engine writes
 * them; this only reads, so it works from any machine against a running deployment):
 *  - projector_checkpoints   mode, last event time, events applied, last save;
 *  - projector_leases        the instance that owns the module now (a live lease);
 *  - projector_dead_letters  entries still waiting for an operator: parked or requested, and
 *                            invalid events (they reached no handler; counted like parked ones);
 *  - event_store             the newest event, to tell how far behind each module is.
 * Values are read defensively: a field of the wrong type shows as unknown, never crashes.
 */
export const OPEN_DEAD_LETTER_STATUSES = [
  'parked',
  'retry-requested',
  'skip-requested',
  'invalid',
] as const;

export interface ModuleStatus {
  module: string;
  /** Instance holding a live lease now; null when nobody does. */
  owner: string | null;
  fence: number | null;
  leaseExpiresAt: Date | null;
  /** null when the module has no checkpoint yet. */
  mode: string | null;
  moduleVersion: number | null;
  lastEventAt: Date | null;
  /** Newest event in event_store minus the module's last event time; null when unknown. */
  lagSeconds: number | null;
  /** Time since the checkpoint was last saved. */
  checkpointAgeSeconds: number | null;
  eventsApplied: number;
  /** While catching up: events scanned (saved progress) of event_store's estimated size. */
  catchUp: { scanned: number; estimate: number } | null;
  /** Dead letters an operator must act on: parked, requested and invalid ones. */
  deadLetters: number;
  /** Of `deadLetters`, the invalid events (bad envelope or failing upcaster). */
  invalid: number;
  /** Instance that saved the checkpoint last. */
  checkpointedBy: string | null;
  health: { ok: boolean; reason: string | null };
}

export interface StatusReport {
  db: string;
  generatedAt: Date;
  newestEventAt: Date | null;
  modules: ModuleStatus[];
}

const asDate = (v: unknown): Date | null =>
  v instanceof Date && !Number.isNaN(v.getTime()) ? v : null;
const asNumber = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? v : null;
const asString = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const secondsBetween = (later: Date, earlier: Date) =>
  Math.max(0, (later.getTime() - earlier.getTime()) / 1000);

async function newestEventTime(db: Db): Promise<Date | null> {
  const [newest] = await eventStore(db)
    .find({}, { projection: { storedAt: 1, eventTimestamp: 1 } })
    .sort({ _id: -1 })
    .limit(1)
    .toArray();
  return newest ? (asDate(newest.storedAt) ?? asDate(newest.eventTimestamp)) : null;
}

interface OpenDeadLetters {
  open: number;
  invalid: number;
}

async function openDeadLetters(db: Db): Promise<Map<string, OpenDeadLetters>> {
  const rows = await db
    .collection(DEAD_LETTERS)
    .aggregate<Document>([
      { $match: { status: { $in: [...OPEN_DEAD_LETTER_STATUSES] } } },
      {
        $group: {
          _id: '$module',
          count: { $sum: 1 },
          invalid: { $sum: { $cond: [{ $eq: ['$status', 'invalid'] }, 1, 0] } },
        },
      },
    ])
    .toArray();
  const out = new Map<string, OpenDeadLetters>();
  for (const r of rows) {
    const module = asString(r._id);
    if (module !== null) {
      out.set(module, { open: asNumber(r.count) ?? 0, invalid: asNumber(r.invalid) ?? 0 });
    }
  }
  return out;
}

export interface StatusOptions {
  now: Date;
  /** health.maxLagMs of the config. */
  maxLagMs: number;
  /** health.stuckAfterMs of the config. */
  stuckAfterMs: number;
}

/**
 * Invariant 10 seen from outside the daemon: events newer than the module's last one and no
 * checkpoint saved for stuckAfterMs is stuck; a module that has seen the newest event is fine
 * however old that event is (a quiet store). Checked in order: stuck, no owner, not live,
 * lagging.
 */
export function judgeHealth(m: ModuleStatus, opts: StatusOptions): ModuleStatus['health'] {
  const lagMs = (m.lagSeconds ?? 0) * 1000;
  const idleMs = (m.checkpointAgeSeconds ?? 0) * 1000;
  const fail = (reason: string) => ({ ok: false, reason });
  if (m.mode === null) return fail('no checkpoint yet');
  if (lagMs > 0 && idleMs >= opts.stuckAfterMs) {
    return fail(`stuck: events waiting and no checkpoint for ${formatSeconds(idleMs / 1000)}`);
  }
  if (m.owner === null) return fail('no owner: no instance holds its lease');
  if (m.mode !== 'live' && m.mode !== 'parked') return fail(m.mode);
  if (lagMs > opts.maxLagMs) {
    return fail(
      `lagging: ${formatSeconds(lagMs / 1000)} behind (limit ${formatSeconds(opts.maxLagMs / 1000)})`,
    );
  }
  return { ok: true, reason: null };
}

/**
 * The checkpoint's mode as an operator sees it (shownMode: live with open dead letters, invalid
 * ones included, shows `parked`).
 */
function modeOf(mode: string | null, openDeadLetters: number): string {
  if (mode === null) return 'unknown';
  return mode === 'live' ? shownMode(mode, openDeadLetters) : mode;
}

function catchUpOf(cp: Document | undefined): ModuleStatus['catchUp'] {
  if (!cp || cp.clusterTime !== undefined) return null;
  const progress = catchUpFromStored(cp.catchUp);
  return progress ? { scanned: progress.scanned, estimate: progress.estimate } : null;
}

export async function collectStatus(db: Db, opts: StatusOptions): Promise<StatusReport> {
  const { now } = opts;
  const [checkpoints, leases, deadLetters, newestEventAt] = await Promise.all([
    db.collection<Document>(CHECKPOINTS).find({}).toArray(),
    db.collection<Document>(LEASES_COLLECTION).find({}).toArray(),
    openDeadLetters(db),
    newestEventTime(db),
  ]);
  const byModule = <T extends Document>(docs: T[]) =>
    new Map(docs.flatMap((d) => (typeof d._id === 'string' ? [[d._id, d] as const] : [])));
  const cps = byModule(checkpoints);
  const lss = byModule(leases);
  const names = [...new Set([...cps.keys(), ...lss.keys(), ...deadLetters.keys()])].sort();

  const modules = names.map((module): ModuleStatus => {
    const cp = cps.get(module);
    const lease = lss.get(module);
    const letters = deadLetters.get(module);
    const leaseExpiresAt = asDate(lease?.expiresAt);
    const live = leaseExpiresAt !== null && leaseExpiresAt.getTime() > now.getTime();
    const lastEventAt = asDate(cp?.lastEventAt);
    const updatedAt = asDate(cp?.updatedAt);
    return {
      module,
      owner: live ? asString(lease?.owner) : null,
      fence: asNumber(lease?.fence),
      leaseExpiresAt,
      mode: cp ? modeOf(asString(cp.mode), letters?.open ?? 0) : null,
      moduleVersion: asNumber(cp?.moduleVersion),
      lastEventAt,
      lagSeconds: newestEventAt && lastEventAt ? secondsBetween(newestEventAt, lastEventAt) : null,
      checkpointAgeSeconds: updatedAt ? secondsBetween(now, updatedAt) : null,
      eventsApplied: asNumber(cp?.eventsApplied) ?? 0,
      catchUp: catchUpOf(cp),
      deadLetters: letters?.open ?? 0,
      invalid: letters?.invalid ?? 0,
      checkpointedBy: asString(cp?.instanceId),
      health: { ok: true, reason: null },
    };
  });
  for (const m of modules) m.health = judgeHealth(m, opts);
  return { db: db.databaseName, generatedAt: now, newestEventAt, modules };
}
