import { Timestamp, type Db, type Document } from 'mongodb';
import { isDuplicateKeyError } from '../lib/errors.js';
import { scanPositionFromStored, type ScanPosition } from '../source/scanPosition.js';
import { positionFromStored, type Position } from './position.js';

/**
 * projector_checkpoints: one document per module (DESIGN.md "Daemon collections").
 * `save` is compare-and-set: it never moves a stored position backwards (a slower instance that
 * lost its lease cannot rewind the module), and reports why when it does not write.
 */
export const CHECKPOINTS = 'projector_checkpoints';

export type ModuleMode = 'catching-up' | 'live' | 'rebuilding' | 'parked';

/**
 * A catch-up under way (DESIGN.md "Contracts added in 2026-12"), saved as it goes in the
 * module's checkpoint while it has no position: a restart resumes the scan `after` the saved
 * event instead of from the first one, and joins the live stream at `startAt`, the cluster time
 * read before the scan began (everything appended since arrives there).
 */
export interface CatchUpProgress {
  startAt: Timestamp;
  /** Every event of the scan up to this one is applied; undefined: none yet. */
  after: ScanPosition | undefined;
  /** Events of event_store the scan has passed (handled by the module or not). */
  scanned: number;
  /** event_store's estimated size when the scan began. */
  estimate: number;
}

export interface StoredCheckpoint {
  module: string;
  moduleVersion: number;
  position: Position | undefined;
  /** Only while the module has no position. */
  catchUp: CatchUpProgress | undefined;
  mode: ModuleMode;
  eventsApplied: number;
  lastEventAt: Date | null;
  updatedAt: Date;
}

export interface CheckpointUpdate {
  position: Position;
  moduleVersion: number;
  mode: ModuleMode;
  /** Added to the stored count. */
  appliedDelta: number;
  lastEventAt: Date | null;
  instanceId: string;
}

/** behind: a newer position is stored; fenced: this process no longer holds the lease. */
export type SaveResult = { ok: true } | { ok: false; reason: 'behind' | 'fenced' };

export interface CheckpointStore {
  load(module: string): Promise<StoredCheckpoint | undefined>;
  save(module: string, update: CheckpointUpdate): Promise<SaveResult>;
  /** Saves catch-up progress; `behind` when the module has a position already (a rebuild, another owner). */
  saveCatchUp(
    module: string,
    progress: CatchUpProgress,
    moduleVersion: number,
    instanceId: string,
  ): Promise<SaveResult>;
  /** Records the mode (and, when given, the instance now running the module). */
  setMode(
    module: string,
    mode: ModuleMode,
    moduleVersion: number,
    instanceId?: string,
  ): Promise<void>;
  /** Forget the position (rebuild, version bump, history lost): the module catches up again. */
  reset(module: string, moduleVersion: number): Promise<void>;
}

/** Saved progress, read defensively: a malformed one restarts the scan (nothing is lost). */
export function catchUpFromStored(v: unknown): CatchUpProgress | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (!(o.startAt instanceof Timestamp)) return undefined;
  const count = (n: unknown) => (typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : 0);
  return {
    startAt: o.startAt,
    after: scanPositionFromStored(o.after),
    scanned: count(o.scanned),
    estimate: count(o.estimate),
  };
}

function fromDoc(doc: Document): StoredCheckpoint {
  const position = positionFromStored(doc);
  return {
    module: String(doc._id),
    moduleVersion: typeof doc.moduleVersion === 'number' ? doc.moduleVersion : 0,
    position,
    catchUp: position ? undefined : catchUpFromStored(doc.catchUp),
    mode: (doc.mode as ModuleMode | undefined) ?? 'catching-up',
    eventsApplied: typeof doc.eventsApplied === 'number' ? doc.eventsApplied : 0,
    lastEventAt: doc.lastEventAt instanceof Date ? doc.lastEventAt : null,
    updatedAt: doc.updatedAt instanceof Date ? doc.updatedAt : new Date(0),
  };
}

export function createCheckpointStore(db: Db, now: () => Date = () => new Date()): CheckpointStore {
  const coll = db.collection<Document>(CHECKPOINTS);
  return {
    async load(module) {
      const doc = await coll.findOne({ _id: module as never });
      return doc ? fromDoc(doc) : undefined;
    },
    async save(module, u) {
      // One conditional write, so two savers (an old owner resumed after a pause, the new one)
      // can never interleave a read and a write and move the position backwards. A document
      // holding a newer position does not match; the upsert then collides on _id: behind.
      const notNewer = {
        _id: module as never,
        $or: [
          { clusterTime: { $exists: false } },
          { clusterTime: { $lte: u.position.clusterTime } },
        ],
      };
      try {
        await coll.updateOne(
          notNewer,
          {
            $set: {
              module,
              moduleVersion: u.moduleVersion,
              token: u.position.token,
              clusterTime: u.position.clusterTime,
              mode: u.mode,
              // Kept as stored when this save has no newer event time.
              ...(u.lastEventAt ? { lastEventAt: u.lastEventAt } : {}),
              updatedAt: now(),
              instanceId: u.instanceId,
            },
            $inc: { eventsApplied: u.appliedDelta },
            // A position makes the catch-up's progress history.
            $unset: { catchUp: '' },
          },
          { upsert: true },
        );
      } catch (e) {
        if (isDuplicateKeyError(e)) return { ok: false, reason: 'behind' };
        throw e;
      }
      return { ok: true };
    },
    async saveCatchUp(module, progress, moduleVersion, instanceId) {
      const res = await coll.updateOne(
        { _id: module as never, clusterTime: { $exists: false } },
        {
          $set: {
            module,
            moduleVersion,
            mode: 'catching-up',
            catchUp: { ...progress, after: progress.after ?? null },
            updatedAt: now(),
            instanceId,
          },
        },
      );
      return res.matchedCount === 1 ? { ok: true } : { ok: false, reason: 'behind' };
    },
    async setMode(module, mode, moduleVersion, instanceId) {
      await coll.updateOne(
        { _id: module as never },
        {
          $set: {
            module,
            mode,
            moduleVersion,
            updatedAt: now(),
            ...(instanceId === undefined ? {} : { instanceId }),
          },
        },
        { upsert: true },
      );
    },
    async reset(module, moduleVersion) {
      await coll.updateOne(
        { _id: module as never },
        {
          $set: { module, moduleVersion, mode: 'catching-up', updatedAt: now() },
          $unset: { token: '', clusterTime: '', catchUp: '' },
        },
        { upsert: true },
      );
    },
  };
}
