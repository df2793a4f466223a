import { MongoClient, type Db, type Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { eventStore } from '../../src/events/eventStore.js';
import type { Daemon, DaemonOptions } from '../../src/lifecycle/daemon.js';
import { EVENT_COUNTER_VIEW } from '../../src/modules/testing/eventCounter.js';
import { healthReport } from '../../src/observability/daemonMetrics.js';
import { changeStreamSource, type SourceItem } from '../../src/source/changeStream.js';
import { startEngine } from '../helpers/engine.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';
import { testEvent } from '../helpers/workload.js';

/**
 * Stuck ≠ quiet, end to end (DESIGN.md "Stalls"; lifecycle/stallWatch.ts) against the harness
 * MongoDB, with a source seam that swallows a change event — what a real server cannot be made
 * to do on demand: the module still converges within the bound, the stall is counted by action
 * and reported by health while it lasts. A quiet store for several bounds costs one probe per
 * bound and triggers nothing. The daemon's client monitors its commands so probes are counted.
 */
const STALL_MS = 800;
const config = loadConfig({
  env: {},
  flags: {
    checkpoint: { everyEvents: 20, everyMs: 50 },
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
    health: { stallMs: STALL_MS },
  },
});

/** The real change stream, except that events matching `swallow` vanish (`times` of them). */
function swallowing(
  swallow: (raw: Document) => boolean,
  times: number,
): NonNullable<DaemonOptions['source']> {
  let left = times;
  return async function* (o): AsyncGenerator<SourceItem> {
    for await (const item of changeStreamSource(o)) {
      if (item.kind === 'event' && left > 0 && swallow(item.raw)) {
        left--;
        continue;
      }
      yield item;
    }
  };
}

describe('a stalled stream', () => {
  let client: MongoClient;
  let db: Db;
  let probes = 0;
  let daemon: Daemon | undefined;
  const stalls: string[] = [];
  const health: (string | null)[] = [];
  beforeAll(async () => {
    const { dbName } = await useTestDb('stream_stall');
    client = new MongoClient(mongoUri(), { monitorCommands: true });
    client.on('commandStarted', (e) => {
      const cmd = e.command;
      // The probe: one event of event_store after a point of its eventTimestamp order.
      if (e.commandName === 'find' && cmd.find === 'event_store' && cmd.limit === 1) {
        if (JSON.stringify(cmd.filter).includes('"eventTimestamp"')) probes++;
      }
    });
    await client.connect();
    db = client.db(dbName);
  });
  afterAll(async () => {
    await daemon?.stop();
    await client.close();
  });

  async function start(source: NonNullable<DaemonOptions['source']>): Promise<Daemon> {
    await daemon?.stop();
    stalls.length = 0;
    health.length = 0;
    const started = await startEngine(db, {
      config,
      source,
      hooks: {
        onStall: (slot, action) => {
          stalls.push(`${slot} ${action}`);
          const report = healthReport(started.status(), config, new Date());
          health.push(report.modules[0]?.reason ?? null);
        },
      },
    });
    daemon = started;
    // Live for one period: what it writes from now on is after what its start covered.
    const from = probes;
    await waitFor(() => probes > from, { timeoutMs: 5 * STALL_MS, what: 'the first probe' });
    return started;
  }
  const counted = async (id: string) =>
    (await db.collection<{ _id: string; count?: number }>(EVENT_COUNTER_VIEW).findOne({ _id: id }))
      ?.count;
  const at = (aggregateId: string, version: number) => (raw: Document) =>
    raw.aggregateId === aggregateId && raw.version === version;
  /** Written after start() waited one period: later than anything its start covered. */
  const events = (aggregateId: string, versions: number) =>
    Array.from({ length: versions }, (_, i) => testEvent(aggregateId, i + 1, new Date()));

  it('reopens the stream when it swallowed the last event, converging within the bound', async () => {
    const d = await start(swallowing(at('once-1', 3), 1));
    await eventStore(db).insertMany(events('once-1', 3));
    const wroteAt = Date.now();
    await waitFor(async () => (await counted('once-1')) === 3, {
      timeoutMs: 3 * STALL_MS + 3000,
      what: 'the swallowed event to be applied after the stream was reopened',
    });
    expect(Date.now() - wroteAt).toBeLessThan(3 * STALL_MS + 3000);
    // A server with post-batch resume tokens (any replica set, the embedded one included) gave an
    // idle token past the swallowed event, and the checkpoint saved from it is where the reopened
    // stream starts: it cannot bring the event back, the scan does.
    expect(stalls).toEqual(['event-counter reopened', 'event-counter rescanned']);
    expect(health[0]).toMatch(/^stalled: /);
    await waitFor(() => d.status()[0]?.stalledSince === undefined, { what: 'the stall to end' });
    expect(healthReport(d.status(), config, new Date()).modules[0]?.ready).toBe(true);
  });

  it('scans event_store when reopening does not deliver the event either', async () => {
    await start(swallowing(at('always-1', 2), Infinity));
    await eventStore(db).insertMany(events('always-1', 2));
    await waitFor(async () => (await counted('always-1')) === 2, {
      timeoutMs: 4 * STALL_MS + 4000,
      what: 'the event no stream delivers to be applied from a scan',
    });
    expect(stalls).toEqual(['event-counter reopened', 'event-counter rescanned']);
  });

  it('leaves a quiet store alone: one probe per bound, no repair, no stall', async () => {
    const d = await start(changeStreamSource);
    await eventStore(db).insertMany(events('quiet-1', 2));
    await waitFor(async () => (await counted('quiet-1')) === 2, { what: 'the events applied' });
    const from = probes;
    const since = Date.now();
    await waitFor(() => probes >= from + 4, {
      timeoutMs: 8 * STALL_MS,
      what: 'four more probes of the quiet store',
    });
    const bounds = (Date.now() - since) / STALL_MS;
    expect(probes - from).toBeLessThanOrEqual(Math.ceil(bounds) + 1);
    expect(stalls).toEqual([]);
    expect(d.status()[0]?.stalledSince).toBeUndefined();
    expect(healthReport(d.status(), config, new Date()).modules[0]?.ready).toBe(true);
  });
});
