import type { Db, Document } from 'mongodb';
import { CHECKPOINTS } from '../../src/checkpoint/store.js';
import { LEASES_COLLECTION, type LeaseDocument } from '../../src/leases/leaseManager.js';

/**
 * Samples `projector_leases` and `projector_checkpoints` every `intervalMs` while instances of
 * `projectord run` come and go, and records every breach of "one owner per module" (DESIGN.md
 * invariant 11) it can see from the database:
 *  - orphaned: no live, unexpired owner for longer than `maxOrphanMs` (a dead owner's lease must
 *    expire and be taken over within the lease time);
 *  - fence: a lease whose fence went backwards, or whose owner changed without a larger fence;
 *  - writer: a module's checkpoint position moved, saved by an instance other than the owner,
 *    while the owner (and fence) had not changed for the last three samples. Three, because one
 *    sample reads the checkpoint before the lease: an old owner's final save lands before its
 *    release, hence before the new owner's acquisition, hence before the sample preceding this one
 *    read its checkpoint — any save seen moving now is a write by a non-owner.
 * `live()` names the instances whose process is running; a killed instance leaves it at once.
 */
export interface OwnerSample {
  owner: string;
  fence: number;
  expiresAt: number;
  /** When this sampler first saw this owner and fence. */
  since: number;
  /** The latest expiry seen under this owner and fence (a release resets expiresAt, not this). */
  maxExpiresAt: number;
  /** The owner before this one, with the latest expiry it was seen with (a takeover's predecessor). */
  previous?: { owner: string; fence: number; expiresAt: number };
}

export interface LeaseWatch {
  /** The module's lease as last sampled (undefined before its first lease). */
  current(module: string): OwnerSample | undefined;
  /** Polls until `accept` holds for the module's sampled owner, or throws after `timeoutMs`. */
  waitForOwner(
    module: string,
    accept: (s: OwnerSample) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<OwnerSample & { seenAt: number }>;
  /** Leases of the module seen released (expiresAt at the epoch), oldest first. */
  releases(module: string): readonly { owner: string; fence: number }[];
  /** Stops sampling; resolves with every violation seen (empty = invariant held). */
  stop(): Promise<string[]>;
}

export interface LeaseWatchOptions {
  modules: readonly string[];
  live: () => ReadonlySet<string>;
  maxOrphanMs: number;
  intervalMs?: number;
}

interface ModuleTrack {
  history: { owner: string; fence: number }[];
  /** Leases sampled in their released state (expiresAt = the epoch). */
  releases: { owner: string; fence: number }[];
  sample?: OwnerSample;
  orphanSince?: number;
  orphanReported?: boolean;
  checkpoint?: string;
}

export function startLeaseWatch(db: Db, opts: LeaseWatchOptions): LeaseWatch {
  const tracks = new Map<string, ModuleTrack>(
    opts.modules.map((m) => [m, { history: [], releases: [] }]),
  );
  const violations: string[] = [];
  let stopped = false;

  function observe(module: string, lease: LeaseDocument | undefined, cp: Document | undefined) {
    const t = tracks.get(module);
    if (!t) return;
    const now = Date.now();
    const live = opts.live();
    if (lease) {
      const prev = t.sample;
      if (prev && lease.fence < prev.fence)
        violations.push(`${module}: fence went back from ${prev.fence} to ${lease.fence}`);
      if (prev && lease.owner !== prev.owner && lease.fence <= prev.fence)
        violations.push(
          `${module}: owner ${prev.owner} → ${lease.owner} with fence ${lease.fence}`,
        );
      const same = prev && prev.owner === lease.owner && prev.fence === lease.fence;
      t.sample = {
        owner: lease.owner,
        fence: lease.fence,
        expiresAt: lease.expiresAt.getTime(),
        maxExpiresAt: Math.max(lease.expiresAt.getTime(), same ? prev.maxExpiresAt : 0),
        since: same ? prev.since : now,
        ...(same
          ? prev.previous && { previous: prev.previous }
          : prev && {
              previous: { owner: prev.owner, fence: prev.fence, expiresAt: prev.maxExpiresAt },
            }),
      };
      t.history = [...t.history, { owner: lease.owner, fence: lease.fence }].slice(-3);
    }
    if (lease && lease.expiresAt.getTime() <= 0)
      t.releases.push({ owner: lease.owner, fence: lease.fence });
    const owned = lease && lease.expiresAt.getTime() > now && live.has(lease.owner);
    // Before its first lease a module is starting up, not orphaned.
    if (owned || !t.sample) {
      t.orphanSince = undefined;
      t.orphanReported = false;
    } else {
      t.orphanSince ??= now;
      if (now - t.orphanSince > opts.maxOrphanMs && !t.orphanReported) {
        t.orphanReported = true;
        violations.push(
          `${module}: no live owner for over ${opts.maxOrphanMs} ms (lease ${JSON.stringify(lease)}, live ${[...live].join(',')})`,
        );
      }
    }
    const position = cp ? JSON.stringify([cp.token, cp.clusterTime]) : undefined;
    const stable =
      t.history.length === 3 &&
      t.history.every((h) => h.owner === t.history[0]?.owner && h.fence === t.history[0]?.fence);
    if (stable && cp && t.checkpoint !== undefined && position !== t.checkpoint) {
      if (cp.instanceId !== lease?.owner)
        violations.push(
          `${module}: checkpoint saved by ${String(cp.instanceId)} while ${String(lease?.owner)} owned it`,
        );
    }
    t.checkpoint = position;
  }

  async function sampleOnce(): Promise<void> {
    // Checkpoints first, leases second: see the "writer" rule above.
    const cps = await db.collection(CHECKPOINTS).find({}).toArray();
    const leases = await db.collection<LeaseDocument>(LEASES_COLLECTION).find({}).toArray();
    for (const module of opts.modules) {
      observe(
        module,
        leases.find((l) => l._id === module),
        cps.find((c) => c._id === (module as unknown)),
      );
    }
  }

  const loop = (async () => {
    while (!stopped) {
      await sampleOnce().catch((e: unknown) => violations.push(`sampling failed: ${String(e)}`));
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
    }
  })();

  return {
    current: (module) => tracks.get(module)?.sample,
    releases: (module) => tracks.get(module)?.releases ?? [],
    async waitForOwner(module, accept, timeoutMs, what) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = tracks.get(module)?.sample;
        if (s && accept(s)) return { ...s, seenAt: Date.now() };
        if (Date.now() > deadline)
          throw new Error(
            `timed out after ${timeoutMs} ms waiting for ${what} (last lease: ${JSON.stringify(s)})`,
          );
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      stopped = true;
      await loop;
      return [...violations];
    },
  };
}
