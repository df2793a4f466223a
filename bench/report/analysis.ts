import type { Config } from '../../src/config/schema.js';
import type * as R from './results.js';
import { n0, n1, pct } from './tables.js';

/**
 * The report's verdict against the targets, and the engine changes the measurements point to.
 * Every number quoted comes from this run's results; where a scenario did not run, its line says
 * so. The recommendations are not made here: the engine's files belong to its owners.
 */
interface Inputs {
  single?: R.EngineSingle | undefined;
  bank?: R.EngineBank | undefined;
  profile?: R.EngineProfile | undefined;
  tp?: R.WireThroughput | undefined;
  latency?: R.WireLatency | undefined;
  memory?: R.WireMemory | undefined;
  recovery?: R.WireRecovery | undefined;
  defaults: Config;
}

const stageShare = (p: R.ProfileOf | undefined, prefix: string): number => {
  if (!p) return Number.NaN;
  const ms = p.stages.filter((s) => s.stage.startsWith(prefix)).reduce((a, s) => a + s.ms, 0);
  return ms / p.sampledMs;
};

const fnShare = (p: R.ProfileOf | undefined, name: string): number => {
  if (!p) return Number.NaN;
  const ms = p.topSelf
    .concat(p.topTotal)
    .filter((f) => f.name === name)
    .reduce((a, f) => Math.max(a, f.selfMs), 0);
  return ms / p.sampledMs;
};

const mark = (ok: boolean | undefined) =>
  ok === undefined ? 'not run' : ok ? '**met**' : '**not met**';

function verdict(i: Inputs): string[] {
  const row = (id: string) => i.single?.rows.find((r) => r.id === id)?.median;
  const def = row('single-default');
  const best = row('single-flush0');
  const lat100 = i.latency?.rows.find((r) => r.rate === 100);
  const everyEvents = i.recovery?.checkpoint.everyEvents ?? 0;
  const lines: [string, string, string, boolean | undefined][] = [
    [
      '1a engine, one guarded upsert',
      '≥ 150,000 events/s',
      def && best
        ? `${n0(def.evPerSec)} events/s (defaults); ${n0(best.evPerSec)} with flush 0; ${n0(1e6 / best.cpuUsPerEvent)} per CPU-second`
        : '–',
      def ? def.evPerSec >= 150_000 : undefined,
    ],
    [
      '1b engine, all bank modules',
      '≥ 40,000 events/s',
      i.bank
        ? `${n0(i.bank.median.evPerSec)} events/s (${n0(i.bank.median.cpuUsPerEvent)} CPU µs/event)`
        : '–',
      i.bank ? i.bank.median.evPerSec >= 40_000 : undefined,
    ],
    [
      '2 over the wire vs naive',
      '≥ 2× on the fallback',
      i.tp
        ? `${i.tp.ratios.counterOverNaive.toFixed(2)}× (event-counter), ${i.tp.ratios.singleOverNaive.toFixed(2)}× (same writes as naive)` +
          (i.tp.ratios.tunedOverNaive === undefined
            ? ''
            : `, ${i.tp.ratios.tunedOverNaive.toFixed(2)}× (same writes, concurrency 512 + flush 0)`)
        : '–',
      i.tp ? i.tp.ratios.counterOverNaive >= 2 : undefined,
    ],
    [
      '3 memory draining 200k',
      '< 250 MB, flat',
      i.memory
        ? `peak ${n0(i.memory.rssMb.peak)} MB (first ${n0(i.memory.rssMb.first)}, last ${n0(i.memory.rssMb.last)})`
        : '–',
      i.memory ? i.memory.rssMb.peak < 250 : undefined,
    ],
    [
      '4 latency at 100 events/s',
      'p99 < 100 ms',
      lat100 ? `p99 ${n1(lat100.p99)} ms (p50 ${n1(lat100.p50)} ms)` : '–',
      lat100 ? lat100.p99 < 100 : undefined,
    ],
    [
      '5 recovery after kill -9',
      're-processed ≤ checkpoint interval',
      i.recovery
        ? `${n0(i.recovery.median.firstProcessedMs)} ms to the first event; ${n0(i.recovery.median.reprocessed)} re-processed, at most ${n0(Math.max(...i.recovery.reps.map((r) => r.reprocessed)))} (interval ${everyEvents} events / ${i.recovery.checkpoint.everyMs} ms; see point 9)`
        : '–',
      i.recovery
        ? Math.max(...i.recovery.reps.map((r) => r.reprocessed)) <= everyEvents
        : undefined,
    ],
  ];
  return [
    '## Verdict against the targets',
    '',
    '| scenario | target | measured (median) | |',
    '| --- | --- | --- | --- |',
    ...lines.map(([s, t, m, ok]) => `| ${s} | ${t} | ${m} | ${mark(ok)} |`),
  ];
}

function engineFindings(i: Inputs): string[] {
  const { defaults } = i;
  const row = (id: string) => i.single?.rows.find((r) => r.id === id)?.median;
  const def = row('single-default');
  const best = row('single-flush0');
  const ceiling = (defaults.lanes.concurrency / defaults.writer.flushIntervalMs) * 1000;
  const p = i.profile;
  const bankModules = i.bank?.perModule.filter((m) => m.kind !== '') ?? [];
  const dispatchOnly = i.bank?.perModule.find((m) => m.kind === '')?.cpuUsPerStreamEvent ?? 0;
  const heavy = [...bankModules].sort((a, b) => b.cpuUsPerStreamEvent - a.cpuUsPerStreamEvent);
  return [
    '## Why the engine targets are missed, and what would meet them',
    '',
    'Nothing here was changed in the engine (its files belong to their owners); each point is a',
    'recommended change with the measurement behind it.',
    '',
    `1. **The default flush timer caps a lane at about ${n0(ceiling)} events/s, whatever the CPU.** A lane runs`,
    `   at most \`lanes.concurrency\` = ${defaults.lanes.concurrency} handlers at once, and each waits for its writes to be durable`,
    `   before the next event of the lane can start; the writer sends a batch when \`maxBatchSize\` (${defaults.writer.maxBatchSize})`,
    `   intents are pending or after \`flushIntervalMs\` (${defaults.writer.flushIntervalMs} ms). ${defaults.lanes.concurrency} handlers never fill ${defaults.writer.maxBatchSize}, so every batch`,
    `   waits for the timer: ${defaults.lanes.concurrency} events per ${defaults.writer.flushIntervalMs} ms (1a: ${def ? n0(def.evPerSec) : '?'} events/s with the defaults, batches of`,
    `   ${defaults.lanes.concurrency} events; ${best ? n0(best.evPerSec) : '?'} events/s with \`flushIntervalMs: 0\` at the same CPU cost per event). Recommended:`,
    '   flush as soon as every handler in flight is waiting on the writer (pending intents ≥ handlers',
    '   running), keeping the timer only as an upper bound; or default `flushIntervalMs` to 0 (the',
    '   writer then batches everything committed in one turn of the event loop, by setImmediate).',
    "   The same bound applies over the wire, with the server's round trip in place of the timer:",
    `   a lane can never have more than ${defaults.lanes.concurrency} events' writes outstanding; per-key queues are cheap, so`,
    '   a higher default concurrency (a few hundred) costs little.',
    '',
    `2. **Garbage collection is ${pct(stageShare(p?.single, 'garbage'))} of the CPU in 1a** (${pct(stageShare(p?.bank, 'garbage'))} in 1b). An event allocates dozens of`,
    '   short-lived objects and 8–10 promises on its way (accept → enqueue → p-queue task → drain →',
    '   applyEvent → applyOne → runner.execute → writer.commit with one promise per intent and a',
    '   Promise.all), and up to `maxInFlight` events are alive at once, so much of it survives the',
    '   young generation and is promoted (the heap grows to several hundred MB between major GCs in',
    "   1a). Recommended: one promise per commit (resolve all of an event's outcomes together), a",
    '   synchronous `accept()` when the lane has room, and non-async fast paths in the lane.',
    '',
    `3. **The module context is rebuilt for every event** (\`buildContext\`: ${pct(fnShare(p?.single, 'buildContext'))} self time in 1a, the`,
    '   hottest function): a new Set of declared collections, about fifteen closures and a spread copy',
    '   of the context object per event. Recommended: build the context once per module runner (methods',
    '   on a prototype or closures over a small per-event slot holding the event, guard and intent list),',
    '   with the declared-collection Set built once.',
    '',
    `4. **The lane's per-key scheduling goes through p-queue** (lane and p-queue: ${pct(stageShare(p?.single, 'lane'))} of 1a): every`,
    '   event of an idle key is a p-queue task, with its own promise, AbortSignal plumbing and',
    '   async-context binding (`runInAsyncScope` on every task). Recommended: a counter of running keys',
    '   and a FIFO of ready keys — the ordering and bound are the same, the per-task machinery goes.',
    '',
    `5. **Turning intents into bulk operations copies and re-walks every value** (batch writer and intents:`,
    `   ${pct(stageShare(p?.single, 'batch writer'))} of 1a, ${pct(stageShare(p?.bank, 'batch writer'))} of 1b): \`withoutReserved\` spreads the update then \`delete\`s keys`,
    '   (dictionary-mode objects), `nonEmpty` walks the sections again, and `plainValue` deep-copies',
    `   every nested value to escape keys (${pct(fnShare(p?.bank, 'plainValue'))} self in 1b, where saga and compliance documents`,
    '   are large). Recommended: build the sections directly, and escape lazily — return the value',
    '   itself when no key in it starts with `$` or contains `.` (the common case).',
    '',
    `6. **In 1b the modules themselves are the larger half.** Dispatch alone costs ${n1(dispatchOnly)} µs per event; each`,
    `   module adds its own engine overhead (context, lane, writer: 1a costs ${best ? n1(best.cpuUsPerEvent) : '?'} CPU µs per event,`,
    `   dispatch included) plus its logic: the costliest are ${heavy
      .slice(0, 3)
      .map((m) => `${m.module} (${n1(m.cpuUsPerStreamEvent)} µs per stream event)`)
      .join(', ')}.`,
    "   The transfer saga reads the destination account's whole stream (`readStream`) on every",
    '   debit, so its cost grows with account history; the compliance reaction rewrites its whole',
    '   activity window document per event. With eight modules on every money event, 40,000 events/s',
    '   needs about 3 µs per module per event: the points above are necessary, not sufficient.',
  ];
}

function wireFindings(i: Inputs): string[] {
  const lines: string[] = [];
  const { defaults } = i;
  if (i.tp) {
    const c = i.tp.serverCeiling;
    const best = Math.max(
      ...i.tp.rows.filter((r) => r.name.startsWith('projectord')).map((r) => r.median),
    );
    // One lane's bound when every batch waits for the timer and then for the server's bulk.
    const bound =
      defaults.lanes.concurrency /
      (defaults.writer.flushIntervalMs / 1000 + defaults.lanes.concurrency / c.bulkOpsPerSec);
    lines.push(
      `7. **Over the wire, projectord does not reach the server's bulk rate.** In the same run the`,
      `   server took the naive projector's very writes at ${n0(c.bulkOpsPerSec)} ops/s as unordered bulkWrites of 500 and`,
      `   ${n0(c.awaitedOpsPerSec)} ops/s awaited one by one (${c.ratio.toFixed(2)}×, no change stream involved); the best projectord`,
      `   row reached ${n0(best)} events/s. With the defaults a lane never has more than ${defaults.lanes.concurrency} events'`,
      `   writes outstanding and each batch first waits for the ${defaults.writer.flushIntervalMs} ms timer, then for the server:`,
      `   about ${defaults.lanes.concurrency} / (${defaults.writer.flushIntervalMs} ms + ${defaults.lanes.concurrency} / ${n0(c.bulkOpsPerSec)} ops/s) ≈ ${n0(bound)} events/s at best for one write`,
      "   per event, half that for the event-counter module's two (its shared total) — before the",
      '   change stream, checkpoints, and this process sharing 2 cores with the inserter and the',
      '   Java server. Point 1 is the engine change; the tuned row (concurrency 512, flush 0: a',
      '   configuration, no code change) shows how much of it configuration alone recovers here.',
      '   mongo-java-server evaluates every guarded filter by scanning the collection, so a real mongod',
      '   (index lookups, one round trip per batch) would move every row: run `MONGODB_URI=… npm run',
      '   bench` against a replica set before drawing conclusions about production.',
    );
  }
  if (i.latency) {
    const p50s = i.latency.rows.map((r) => n1(r.p50)).join(', ');
    const p99s = i.latency.rows.map((r) => n1(r.p99)).join(', ');
    lines.push(
      '',
      `8. **The median latency is set by polling, the tail by the shared CPU** (p50 ${p50s} ms and p99`,
      `   ${p99s} ms across the loads). The change-stream source sleeps \`min(maxAwaitTimeMs, 25)\` ms`,
      '   after every empty `tryNext()`; an event inserted during that sleep waits for it, then for the',
      `   writer's flush timer (${defaults.writer.flushIntervalMs} ms): that is the p50, at every load. The tail follows the`,
      "   machine's load (see the load averages): the daemon, the inserter and the Java server share 2",
      '   cores with other work. Recommended: skip the sleep when the empty `tryNext()` already waited',
      '   on the server (awaitData) and keep it only as a back-off for servers that answer at once;',
      '   with point 1, the idle-path latency would drop to one round trip plus the bulk write.',
    );
  }
  if (i.recovery) {
    const worst = Math.max(...i.recovery.reps.map((r) => r.reprocessed));
    lines.push(
      '',
      `9. **Re-processing after kill -9 is bounded by the checkpoint interval plus the lane window, not`,
      `   the interval alone** (at most ${n0(worst)} here; interval ${i.recovery.checkpoint.everyEvents} events / ${i.recovery.checkpoint.everyMs} ms). A checkpoint`,
      '   stores the low watermark (invariant 4): everything finished out of order beyond the oldest',
      `   unfinished event — up to \`lanes.maxInFlight\` = ${defaults.lanes.maxInFlight} events when the daemon is behind — is`,
      '   read again, on top of what finished since the last save. Every re-read event was recognised',
      '   as applied (outcome `duplicate`) and the counts matched exactly: at-least-once delivery,',
      '   exactly-once effects. The time to the first event is mostly the process starting (Node,',
      "   module loading, connecting: the /metrics column) under the machine's load.",
    );
  }
  return lines;
}

export function analysis(i: Inputs): string[] {
  return [...verdict(i), '', ...engineFindings(i), '', ...wireFindings(i)];
}
