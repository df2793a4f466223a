import type { Collection, Db } from 'mongodb';
import { isDuplicateKeyError, ProjectordError, usageError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';

/**
 * One owner per module (DESIGN.md invariant 11), with a lease document per module in
 * `projector_leases`:
 *
 *   { _id: moduleName, owner: instanceId, fence, expiresAt, heartbeatAt, handover? }
 *
 * - acquire: one atomic findOneAndUpdate that matches only when the lease is ours or expired,
 *   with upsert for a module nobody has leased yet. When someone else holds a live lease the
 *   upsert collides on `_id` (E11000): that is the "taken" answer, not an error.
 * - fence: incremented by every acquire, never reset (release keeps the document), so a larger
 *   fence always means a later owner. renew and release match on it: after a takeover the old
 *   owner's renew matches nothing and fails.
 * - validity: the database's `expiresAt` is what other instances take over by (their clocks);
 *   locally a lease counts only until `expiresAt - safetyMarginMs` by this process's clock.
 *   The engine checks `isValid` before every flush, so an owner that was paused past its expiry
 *   wakes up to an invalid lease and does not write. The margin absorbs clock skew between
 *   instances and the time one flush takes.
 * - handover: `{ to, requestedAt, until }`, set by an instance that needs the module now (a
 *   rebuild about to swap its shadows in; src/leases/handover.ts). While it is pending, only `to`
 *   may acquire, and the owner's renew matches nothing, so its keeper drops the module and its
 *   lease runs out within ttlMs. `to` clears it by acquiring (or withdraws it). A request lapses
 *   at `until` (twice the ttl), so one left behind by a crashed requester blocks nobody for long.
 */
export const LEASES_COLLECTION = 'projector_leases';

export interface LeaseDocument {
  _id: string;
  owner: string;
  fence: number;
  expiresAt: Date;
  heartbeatAt: Date;
  handover?: HandoverRequest;
}

export interface HandoverRequest {
  to: string;
  requestedAt: Date;
  /** After this the request is void: a requester that crashed does not block the module. */
  until: Date;
}

/** ok: the request is pending (`lease` is the document after it). Else another one is. */
export type HandoverResult =
  { ok: true; lease: LeaseDocument } | { ok: false; pendingFor: string; until: Date };

export interface Lease {
  readonly module: string;
  readonly owner: string;
  /** Fencing token: strictly larger for every later owner of the module. */
  readonly fence: number;
  /**
   * Moved forward by a successful renew(); set to the epoch by a failed renew or a release,
   * so the lease is invalid from then on. Only the manager writes it.
   */
  expiresAt: Date;
  heartbeatAt: Date;
}

export interface LeaseManager {
  /** The lease, or null when another instance holds a live one. */
  acquire(module: string): Promise<Lease | null>;
  /**
   * true: extended. false: lost for good (taken over or released); the lease is invalid.
   * Rejects on a driver error, leaving the lease as it was: it stays valid until it expires.
   */
  renew(lease: Lease): Promise<boolean>;
  /** Invalidates the lease at once, then frees it so another instance can take it now. */
  release(lease: Lease): Promise<void>;
  isValid(lease: Lease, now?: Date): boolean;
}

/** What an instance that needs a module now (a rebuild) adds to the protocol. */
export interface LeaseHandover {
  /**
   * Asks the module's owner to hand the lease over to this instance (creates the document when
   * there is none). Refused while another instance's request is pending.
   */
  requestHandover(module: string): Promise<HandoverResult>;
  /** Withdraws this instance's pending request, if any: the normal protocol applies again. */
  withdrawHandover(module: string): Promise<void>;
}

export interface LeaseManagerOptions {
  db: Db;
  instanceId: string;
  ttlMs: number;
  heartbeatMs: number;
  /** Default: a fifth of ttlMs. */
  safetyMarginMs?: number;
  clock?: () => Date;
  logger: Logger;
}

const EPOCH = new Date(0);

export function createLeaseManager(opts: LeaseManagerOptions): LeaseManager & LeaseHandover {
  const { instanceId, ttlMs, heartbeatMs } = opts;
  const safetyMarginMs = opts.safetyMarginMs ?? Math.floor(ttlMs / 5);
  validateTiming(ttlMs, heartbeatMs, safetyMarginMs);
  if (instanceId.trim() === '') {
    throw usageError(
      'INSTANCE_ID_INVALID',
      'instanceId is empty: pass --instance-id or leave it unset for hostname-pid.',
    );
  }
  const clock = opts.clock ?? (() => new Date());
  const logger = opts.logger.child({ component: 'leases', instanceId });
  const leases: Collection<LeaseDocument> = opts.db.collection<LeaseDocument>(LEASES_COLLECTION);

  const isValid = (lease: Lease, now: Date = clock()) =>
    lease.owner === instanceId && now.getTime() < lease.expiresAt.getTime() - safetyMarginMs;
  // No handover pending, or one to this instance, or one that lapsed.
  const handoverAllows = (now: Date) => ({
    $or: [
      { handover: { $exists: false } },
      { 'handover.to': instanceId },
      { 'handover.until': { $lt: now } },
    ],
  });

  return {
    async acquire(module) {
      if (module === '') throw new TypeError('acquire: module name is empty');
      const now = clock();
      const expiresAt = new Date(now.getTime() + ttlMs);
      try {
        // Acquiring also clears the handover: one to us is done, any other one had lapsed.
        const doc = await leases.findOneAndUpdate(
          {
            _id: module,
            $and: [
              { $or: [{ owner: instanceId }, { expiresAt: { $lt: now } }] },
              handoverAllows(now),
            ],
          },
          {
            $set: { owner: instanceId, expiresAt, heartbeatAt: now },
            $inc: { fence: 1 },
            $unset: { handover: '' },
          },
          { upsert: true, returnDocument: 'after' },
        );
        if (doc === null) return null;
        logger.info({ module, fence: doc.fence, expiresAt }, 'lease acquired');
        return { module, owner: instanceId, fence: doc.fence, expiresAt, heartbeatAt: now };
      } catch (e) {
        if (isDuplicateKeyError(e)) return null;
        throw e;
      }
    },

    async renew(lease) {
      if (lease.owner !== instanceId) return false;
      const now = clock();
      const expiresAt = new Date(now.getTime() + ttlMs);
      const res = await leases.updateOne(
        { _id: lease.module, owner: instanceId, fence: lease.fence, ...handoverAllows(now) },
        { $set: { expiresAt, heartbeatAt: now } },
      );
      if (res.matchedCount === 1) {
        lease.expiresAt = expiresAt;
        lease.heartbeatAt = now;
        return true;
      }
      lease.expiresAt = EPOCH;
      logger.warn(
        { module: lease.module, fence: lease.fence },
        'lease lost: taken over, released, or asked to hand over',
      );
      return false;
    },

    async release(lease) {
      // Invalid locally before the write: nothing may be flushed under a lease being released.
      lease.expiresAt = EPOCH;
      if (lease.owner !== instanceId) return;
      await leases.updateOne(
        { _id: lease.module, owner: instanceId, fence: lease.fence },
        { $set: { expiresAt: EPOCH } },
      );
      logger.info({ module: lease.module, fence: lease.fence }, 'lease released');
    },

    isValid,

    async requestHandover(module) {
      if (module === '') throw new TypeError('requestHandover: module name is empty');
      const now = clock();
      const handover = {
        to: instanceId,
        requestedAt: now,
        until: new Date(now.getTime() + 2 * ttlMs),
      };
      // Two tries: a first upsert can collide with an acquirer creating the document.
      for (let attempt = 1; ; attempt++) {
        try {
          const doc = await leases.findOneAndUpdate(
            { _id: module, ...handoverAllows(now) },
            {
              $set: { handover },
              $setOnInsert: { owner: instanceId, fence: 0, expiresAt: EPOCH, heartbeatAt: now },
            },
            { upsert: true, returnDocument: 'after' },
          );
          if (doc !== null) {
            logger.debug({ module, owner: doc.owner }, 'lease handover requested');
            return { ok: true, lease: doc };
          }
        } catch (e) {
          if (!isDuplicateKeyError(e)) throw e;
        }
        const other = await leases.findOne({ _id: module });
        if (other?.handover) {
          return { ok: false, pendingFor: other.handover.to, until: other.handover.until };
        }
        if (attempt >= 2) {
          throw new ProjectordError(
            'HANDOVER_RACE',
            `Could not ask for the lease of module ${module}: its lease document kept changing ` +
              'under instances racing for it. Run the command again.',
          );
        }
      }
    },

    async withdrawHandover(module) {
      await leases.updateOne(
        { _id: module, 'handover.to': instanceId },
        { $unset: { handover: '' } },
      );
    },
  };
}

/** A heartbeat must fit twice in the locally valid span, so one missed heartbeat loses nothing. */
function validateTiming(ttlMs: number, heartbeatMs: number, safetyMarginMs: number): void {
  const fix =
    'Set leases.heartbeatMs (PROJECTORD_LEASES_HEARTBEAT_MS) to at most a third of ' +
    'leases.ttlMs (PROJECTORD_LEASES_TTL_MS).';
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw usageError(
      'LEASE_TIMING_INVALID',
      `leases.ttlMs must be a positive number of ms (got ${ttlMs}). ${fix}`,
    );
  }
  if (!Number.isFinite(heartbeatMs) || heartbeatMs <= 0) {
    throw usageError(
      'LEASE_TIMING_INVALID',
      `leases.heartbeatMs must be a positive number of ms (got ${heartbeatMs}). ${fix}`,
    );
  }
  if (!(safetyMarginMs >= 0) || heartbeatMs * 2 > ttlMs - safetyMarginMs) {
    throw usageError(
      'LEASE_TIMING_INVALID',
      `leases.heartbeatMs (${heartbeatMs}) is too long for leases.ttlMs (${ttlMs}): two heartbeats ` +
        `must fit in the ttl minus the ${safetyMarginMs} ms safety margin, or one slow heartbeat ` +
        `would lose the lease. ${fix}`,
    );
  }
}
