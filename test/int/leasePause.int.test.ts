import type { Db } from 'mongodb';
import { describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import { CHECKPOINTS } from '../../src/checkpoint/store.js';
import { LEASES_COLLECTION, type LeaseDocument } from '../../src/leases/leaseManager.js';
import { EVENT_COUNTER_MODULE } from '../../src/modules/testing/eventCounter.js';
import { INSTANCES_COLLECTION } from '../../src/partitions/membership.js';
import { useDaemons, type Daemon } from '../helpers/daemon.js';
import { startLeaseWatch } from '../helpers/leaseWatch.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';
import { diffEventCounter, storedCounterTotal, waitForConvergence } from '../helpers/recompute.js';
import { mongoTarget } from '../helpers/tcpProxy.js';
import { isWriteCommand, startWireTap, type WireCommand } from '../helpers/wireTap.js';
import { startWorkload, testSeed } from '../helpers/workload.js';

/**
 * Fencing of a paused owner (DESIGN.md invariant 11): instance A owns event-counter and is
 * frozen with SIGSTOP past its lease; B takes the lease over (larger fence) and applies what is
 * appended meanwhile; A is resumed with SIGCONT while more events arrive. A must find its lease
 * invalid and send no write at all (but its lease calls and its announcement in
 * projector_instances), and everything must be counted exactly once.
 *
 * A is frozen holding a batch it has not sent yet (its writer waits FLUSH_MS before a flush), so
 * on resume that batch's flush timer fires in the same event-loop turn as the heartbeat, before
 * the failing renew's answer can take the module away: only the writer's own lease check stands
 * between the stale batch and the database. Frozen idle instead, the renew alone would catch it.
 *
 * The event-counter's writes are exactly-once, so a stale write by A would leave the read model
 * correct: counts alone cannot catch it. A therefore talks to MongoDB through a wire tap
 * (test/helpers/wireTap.ts) that records every command it sends; after its resume, only lease
 * commands (the failing renew, acquire attempts) may be writes.
 */
const seed = testSeed();
const TTL_MS = 3000;
const A = 'pause-a';
const B = 'pause-b';
const EVENTS_PER_PHASE = 300;
const BURST = 40;
const FLUSH_MS = 4000;
const HANDLE_MS = 1000;

interface OwnerChange {
  at: number;
  owner: string;
  fence: number;
}

/** Lease owner changes, sampled every 100 ms, to tell a legitimate re-acquisition by A apart. */
function trackOwners(db: Db): { changes: OwnerChange[]; stop(): Promise<void> } {
  const changes: OwnerChange[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const lease = await db
        .collection<LeaseDocument>(LEASES_COLLECTION)
        .findOne({ _id: EVENT_COUNTER_MODULE })
        .catch(() => null);
      const last = changes.at(-1);
      if (lease && (last?.owner !== lease.owner || last.fence !== lease.fence))
        changes.push({ at: Date.now(), owner: lease.owner, fence: lease.fence });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    changes,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

describe('a paused lease owner is fenced', () => {
  const daemons = useDaemons();

  it('SIGSTOP past the lease, takeover, SIGCONT: the old owner writes nothing', async () => {
    const { db, dbName } = await useTestDb('lease_pause');
    const tap = await startWireTap(mongoUri(), mongoTarget(mongoUri()));
    onTestFinished(() => tap.close());
    // Info level: the lease manager logs acquisitions and losses with their fences.
    const a: Daemon = daemons.create({
      mongoUri: tap.uri,
      dbName,
      config: { instanceId: A, writer: { flushIntervalMs: FLUSH_MS } },
      logLevel: 'info',
    });
    const b: Daemon = daemons.create({
      mongoUri: mongoUri(),
      dbName,
      config: { instanceId: B },
      logLevel: 'info',
    });
    onTestFailed(() => {
      console.error(`[leasePause] seed=${seed} (PROJECTORD_TEST_SEED=${seed} to repeat)`);
      console.error(`[leasePause] A output:\n${a.output()}`);
      console.error(`[leasePause] B output:\n${b.output()}`);
    });
    let frozen = false;
    const live = () => new Set([...(a.running && !frozen ? [A] : []), ...(b.running ? [B] : [])]);
    const watch = startLeaseWatch(db, {
      modules: [EVENT_COUNTER_MODULE],
      live,
      // The frozen owner's lease must expire (ttl) and B must start first: slack for the machine.
      maxOrphanMs: 30_000,
    });
    onTestFinished(async () => {
      await watch.stop();
    });
    const owners = trackOwners(db);
    onTestFinished(() => owners.stop());
    const bothRunning = () => {
      a.assertRunning();
      b.assertRunning();
    };
    let phases = 0;
    const phase = (
      prefix: string,
      eventsPerSecond?: number,
      events = EVENTS_PER_PHASE,
      aggregates = 10,
    ) =>
      startWorkload(db, {
        events,
        aggregates,
        seed: seed + phases++,
        aggregatePrefix: prefix,
        batchSize: 20,
        ...(eventsPerSecond === undefined ? {} : { eventsPerSecond }),
      }).done;

    await a.start();
    const first = await watch.waitForOwner(EVENT_COUNTER_MODULE, (s) => s.owner === A, 30_000, 'A');
    // One event per aggregate: A's slow flushes then cost one FLUSH_MS, not one per event.
    await phase('before', undefined, EVENTS_PER_PHASE, EVENTS_PER_PHASE);
    await waitForConvergence(db, { timeoutMs: 60_000, check: () => a.assertRunning() });
    const viewWrites = (from: number, to = Infinity) =>
      tap
        .commands()
        .filter(
          (c) =>
            isWriteCommand(c) && c.collection === 'event_counter_view' && c.at >= from && c.at < to,
        );
    expect(viewWrites(0), 'the tap sees A write its read model').not.toEqual([]);

    // Freeze A holding a burst it has handled but not flushed. Nothing on the wire shows the
    // handled moment, so: a read of A's (getMore, or the fallback's insert confirmation) answered
    // after the burst, then HANDLE_MS for A to handle the answer, well inside the FLUSH_MS its
    // writer then holds the batch. Whether the freeze landed there is checked afterwards, from
    // the wire (no flush before the freeze) and from A's log (the writer refused the batch).
    await phase('burst', undefined, BURST);
    const burstAt = Date.now();
    await waitFor(
      () =>
        tap
          .commands()
          .some(
            (c) =>
              c.at >= burstAt &&
              c.repliedAt !== undefined &&
              Date.now() - c.repliedAt >= HANDLE_MS &&
              (c.name === 'getMore' || (c.name === 'find' && c.collection === 'event_store')),
          ),
      { timeoutMs: 30_000, intervalMs: 10, what: 'A to read the burst' },
    );
    a.kill('SIGSTOP');
    frozen = true;
    const frozenAt = Date.now();
    await b.start();
    const takeover = await watch.waitForOwner(
      EVENT_COUNTER_MODULE,
      (s) => s.owner === B && s.fence > first.fence,
      TTL_MS + 30_000,
      'B to take the lease over from the frozen A',
    );
    // Taken by expiry, not stolen: B's first sample comes after A's last renewed expiry.
    expect(takeover.previous?.owner).toBe(A);
    expect(takeover.since).toBeGreaterThanOrEqual(takeover.previous?.expiresAt ?? Infinity);
    await phase('frozen');
    await waitForConvergence(db, { timeoutMs: 60_000, check: bothRunning });
    // Commands A's kernel had taken before the stop may still pass through the tap just after.
    const sentWhileFrozen = tap.commands().filter((c) => c.at > frozenAt + 1000);
    expect(sentWhileFrozen, 'a frozen A sends nothing').toEqual([]);
    expect(
      viewWrites(burstAt),
      `A froze with the burst unflushed (else this run did not reach the writer's lease check; FLUSH_MS ${FLUSH_MS})`,
    ).toEqual([]);

    const resumedAt = Date.now();
    a.kill('SIGCONT');
    frozen = false;
    const after = phase('after', 100);
    await waitFor(
      () => {
        bothRunning();
        return /lease lost/.test(a.output());
      },
      { timeoutMs: 30_000, what: "A's log to say it lost the lease" },
    );
    // Several heartbeats of the resumed A (2 × ttl) with B owning the lease on every sample.
    let ownedByBSince: number | undefined;
    await waitFor(
      async () => {
        bothRunning();
        const lease = await db
          .collection<LeaseDocument>(LEASES_COLLECTION)
          .findOne({ _id: EVENT_COUNTER_MODULE });
        if (lease?.owner !== B) ownedByBSince = undefined;
        else ownedByBSince ??= Date.now();
        return ownedByBSince !== undefined && Date.now() - ownedByBSince >= 2 * TTL_MS;
      },
      { timeoutMs: 45_000, intervalMs: 100, what: `the lease to stay with ${B} for 2 × ttl` },
    );
    await after;
    await waitForConvergence(db, { timeoutMs: 60_000, check: bothRunning });

    // A first: a stopping instance still takes a lease released meanwhile (see the report).
    a.kill('SIGTERM');
    expect(await a.waitForExit(30_000)).toEqual({ code: 0, signal: null });
    b.kill('SIGTERM');
    expect(await b.waitForExit(30_000)).toEqual({ code: 0, signal: null });
    await owners.stop();

    // A legitimate later lease of A (B lost it under load) would make A's writes after it fair.
    const regained = owners.changes.find((c) => c.owner === A && c.fence > takeover.fence);
    const judgedUntil = regained
      ? owners.changes[owners.changes.indexOf(regained) - 1]?.at
      : undefined;
    const afterResume = tap.commands().filter((c) => c.at >= resumedAt);
    const staleWrites = afterResume.filter(
      (c: WireCommand) =>
        isWriteCommand(c) &&
        // Its leases, and its own announcement in projector_instances (membership.ts).
        c.collection !== LEASES_COLLECTION &&
        c.collection !== INSTANCES_COLLECTION &&
        (judgedUntil === undefined || c.at < judgedUntil),
    );
    const summary = [...new Set(afterResume.map((c) => `${c.name} ${String(c.collection)}`))];
    console.log(
      `[leasePause] seed=${seed}; fences ${first.fence} → ${takeover.fence}; A after resume sent: ${summary.join(', ')}; owners: ${JSON.stringify(owners.changes)}`,
    );
    expect(staleWrites, 'writes A sent after its resume, without a lease').toEqual([]);
    // The tap did see the resumed A: its failing renew is a write to the lease collection.
    expect(afterResume.some((c) => isWriteCommand(c) && c.collection === LEASES_COLLECTION)).toBe(
      true,
    );

    expect(
      a.output(),
      "A's writer refused the stale batch (else the freeze missed it: raise HANDLE_MS)",
    ).toContain('lease lost: handing the module over');
    const lease = await db
      .collection<LeaseDocument>(LEASES_COLLECTION)
      .findOne({ _id: EVENT_COUNTER_MODULE });
    expect(lease?.fence).toBeGreaterThanOrEqual(takeover.fence);
    if (!regained) expect(lease?.owner).toBe(B);
    const checkpoint = await db
      .collection<{ _id: string; instanceId?: string }>(CHECKPOINTS)
      .findOne({ _id: EVENT_COUNTER_MODULE });
    if (!regained) expect(checkpoint?.instanceId).toBe(B);
    expect(await diffEventCounter(db)).toEqual([]);
    expect(await storedCounterTotal(db)).toBe(3 * EVENTS_PER_PHASE + BURST);
    expect(await watch.stop()).toEqual([]);
  }, 300_000);
});
