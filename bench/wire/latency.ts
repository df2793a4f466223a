import type { Db } from 'mongodb';
import { eventStore } from '../../src/events/eventStore.js';
import { log, saveResult } from '../lib/results.js';
import { percentile } from '../lib/stats.js';
import { testEvent } from '../../test/helpers/workload.js';
import { projectord } from './contenders.js';
import { startBenchServer } from './server.js';
import { sleep, within } from './time.js';

/**
 * Scenario 4: end-to-end latency at a steady offered load. Events are inserted one per
 * insertOne on a fixed schedule, without waiting for the previous insert; an event's latency runs from just before its insertOne to the moment the
 * daemon's bulkWrite holding its read-model update is acknowledged by the server (the sink
 * reports it: no polling, no second change stream adding its own delay). The first seconds
 * are warm-up and left out.
 */
const LOADS = [100, 300, 1000];
const SECONDS = 20;
const WARMUP_SECONDS = 2;
const AGGREGATES = 200;

async function atLoad(db: Db, rate: number) {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const contender = await projectord(db, rate * SECONDS, {
    onAck: (ids) => {
      const now = performance.now();
      for (const id of ids) {
        const t0 = sentAt.get(id);
        if (t0 !== undefined) latencies.push(now - t0);
      }
    },
  });
  const total = rate * SECONDS;
  const versions = new Map<string, number>();
  const warmup = rate * WARMUP_SECONDS;
  // Inserts are not awaited one by one: a serial insertOne round trip caps the offered load
  // (about 280/s on the fallback server), so each goes out on schedule and is awaited at the end.
  const inserts: Promise<unknown>[] = [];
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + (i / rate) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const aggregateId = `agg-${i % AGGREGATES}`;
    const version = (versions.get(aggregateId) ?? 0) + 1;
    versions.set(aggregateId, version);
    const doc = testEvent(aggregateId, version, new Date());
    if (i >= warmup) sentAt.set(String(doc.eventId), performance.now());
    inserts.push(eventStore(db).insertOne(doc));
  }
  await Promise.all(inserts);
  const offeredS = (performance.now() - started) / 1000;
  await within(contender.done, 60_000, `all ${total} events at ${rate}/s to be applied`);
  await contender.stop();
  const measured = latencies.length;
  if (measured < total - warmup) throw new Error(`only ${measured} of ${total - warmup} measured`);
  return {
    rate,
    achievedRate: total / offeredS,
    measured,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
  };
}

const server = await startBenchServer();
try {
  const rows = [];
  for (const rate of LOADS) {
    const row = await atLoad(await server.freshDb(`lat${rate}`), rate);
    rows.push(row);
    log(
      `4 ${rate}/s: p50 ${row.p50.toFixed(1)} ms, p95 ${row.p95.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms`,
    );
  }
  saveResult('wire-latency', {
    backend: server.mongo.backend,
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    aggregates: AGGREGATES,
    rows,
  });
} finally {
  await server.stop();
}
