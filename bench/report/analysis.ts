import type { Config } from '../../src/config/schema.js';
import type * as R from './results.js';
import { n0, n1, pct, rebuildRatio } from './tables.js';

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
  bankTp?: R.WireBankThroughput | undefined;
  latency?: R.WireLatency | undefined;
  memory?: R.WireMemory | undefined;
  recovery?: R.WireRecovery | undefined;
  rebuild?: R.WireRebuild | undefined;
  defaults: Config;
}

const stageShare = (p: R.ProfileOf | undefined, prefix: string): number => {
  if (!p) return Number.NaN;
  const ms = p.stages.filter((s) => s.stage.startsWith(prefix)).reduce((a, s) => a + s.ms, 0);
  return ms / p.sampledMs;
};

/** `reported`: the issue asks for the figure and sets no target. */
type Verdict = boolean | 'reported' | undefined;

const mark = (ok: Verdict) =>
  ok === undefined ? 'not run' : ok === 'reported' ? 'reported' : ok ? '**met**' : '**not met**';

function verdict(i: Inputs): string[] {
  const row = (id: string) => i.single?.rows.find((r) => r.id === id)?.median;
  const def = row('single-default');
  const lat100 = i.latency?.rows.find((r) => r.rate === 100);
  const everyEvents = i.recovery?.checkpoint.everyEvents ?? 0;
  const lines: [string, string, string, Verdict][] = [
    [
      '1a engine, one guarded upsert',
      '≥ 150,000 events/s',
      def
        ? `${n0(def.evPerSec)} events/s; ${n1(def.cpuUsPerEvent)} CPU µs/event = ${n0(1e6 / def.cpuUsPerEvent)} events per CPU-second`
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
      '≥ 2× on the fallback (one guarded-upsert module)',
      i.tp ? wireVerdict(i.tp) : '–',
      i.tp ? headlineRatio(i.tp) >= 2 : undefined,
    ],
    [
      `2b bank workload over the wire vs naive${i.bankTp ? ` (${n0(i.bankTp.events)} events)` : ''}`,
      '≥ 2× on the fallback',
      i.bankTp
        ? `${i.bankTp.ratios.projectionsOverNaive.toFixed(2)}× (the 4 projections, same read models as naive)`
        : '–',
      i.bankTp ? i.bankTp.ratios.projectionsOverNaive >= 2 : undefined,
    ],
    [
      `3 memory draining ${i.memory ? `${n0(i.memory.events / 1000)}k` : 'a backlog'}`,
      '< 250 MB at 200k (#4), < 300 MB at 500k (#8); flat',
      i.memory
        ? `peak ${n0(i.memory.rssMb.peak)} MB (first ${n0(i.memory.rssMb.first)}, last ${n0(i.memory.rssMb.last)})`
        : '–',
      i.memory ? i.memory.rssMb.peak < memoryLimitMb(i.memory.events) : undefined,
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
        ? `${n0(i.recovery.median.firstProcessedMs)} ms to the first event; ${n0(i.recovery.median.reprocessed)} re-processed, at most ${n0(Math.max(...i.recovery.reps.map((r) => r.reprocessed)))} (interval ${everyEvents} events / ${i.recovery.checkpoint.everyMs} ms; see point 8)`
        : '–',
      i.recovery
        ? Math.max(...i.recovery.reps.map((r) => r.reprocessed)) <= everyEvents
        : undefined,
    ],
    [
      `6 rebuild from ${i.rebuild ? n0(i.rebuild.events) : '?'} events`,
      'none set: events/s and the ratio to a bare scan',
      i.rebuild
        ? `${n0(i.rebuild.median.rebuildEvPerSec)} events/s; bare find() ${n0(i.rebuild.median.bareEvPerSec)} events/s (${rebuildRatio(i.rebuild).toFixed(3)}×)`
        : '–',
      i.rebuild ? 'reported' : undefined,
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
  const old = row('single-old-defaults');
  const wide = row('single-inflight-2000');
  const p = i.profile;
  const bankModules = i.bank?.perModule.filter((m) => m.kind !== '') ?? [];
  const dispatchOnly = i.bank?.perModule.find((m) => m.kind === '')?.cpuUsPerStreamEvent ?? 0;
  const heavy = [...bankModules].sort((a, b) => b.cpuUsPerStreamEvent - a.cpuUsPerStreamEvent);
  const target = 1e6 / 150_000;
  return [
    "## Where the engine's time goes, and what would cut it",
    '',
    'The engine changed while this suite was written, twice on its evidence: commit 0302ab9 builds',
    'the module context once per module, resolves one promise per commit, escapes values only when',
    `needed, flushes the writer on the next turn by default and runs ${defaults.lanes.concurrency} keys per lane; on 2026-11-26`,
    '(commits 6b6e419, 492b6a5, 6d7a5f7) `toBulkOperation` builds each update section in one pass, the',
    "lane runs an aggregate's next event straight to its handler, the default `lanes.maxInFlight` went",
    'from 2000 to 500, and live events are confirmed in event_store in batches (point 6). Everything',
    'here measures the engine as committed at the top of the page.',
    '',
    `1. **Group commit instead of a flush timer.** With the defaults before 0302ab9 (concurrency 64,`,
    '   a 5 ms timer) a lane ran at most 64 handlers, each waiting for its writes, and 64 never fill a',
    '   500-intent batch, so every batch waited for the timer: at most 64 events per 5 ms = 12,800',
    `   events/s whatever the CPU. Same run, same module: ${old ? n0(old.evPerSec) : '?'} events/s with those defaults, ${def ? n0(def.evPerSec) : '?'}`,
    `   with the current ones, at ${old ? n1(old.cpuUsPerEvent) : '?'} vs ${def ? n1(def.cpuUsPerEvent) : '?'} CPU µs per event. The in-process engine is now`,
    '   bound by CPU, not by a timer.',
    '',
    `2. **Fewer events alive at once, less garbage promoted.** Same run: \`lanes.maxInFlight\` 2000 (the`,
    `   default until 492b6a5) costs ${wide ? n1(wide.cpuUsPerEvent) : '?'} CPU µs per event (${wide ? n0(wide.evPerSec) : '?'} events/s), the new default ${defaults.lanes.maxInFlight} costs`,
    `   ${def ? n1(def.cpuUsPerEvent) : '?'} (${def ? n0(def.evPerSec) : '?'} events/s). Every accepted event keeps its closures and promises (lane`,
    '   task, applyOne, runner, commit) until its write is acknowledged; with 2000 alive, more of',
    '   them outlive the young generation and are promoted (the GC share falls with the bound).',
    '',
    `3. **At ${def ? n1(def.cpuUsPerEvent) : '?'} CPU µs per event, 150,000 events/s is ${def ? (def.cpuUsPerEvent / target).toFixed(1) : '?'}× away** (it needs ${n1(target)} µs per event on`,
    '   one core: Node runs the engine on one thread; the second core only helps the garbage',
    `   collector). Garbage collection is still ${pct(stageShare(p?.single, 'garbage'))} of the CPU in 1a (${pct(stageShare(p?.bank, 'garbage'))} in 1b), and the lane with`,
    `   p-queue ${pct(stageShare(p?.single, 'lane'))}: an event of an idle key becomes a p-queue task with its own promise and`,
    '   async-context binding. What is left to try: a counter of running keys and a FIFO of ready keys',
    '   instead of one p-queue task per key activation, a synchronous `accept()` when the lane has',
    '   room, and a write intent that is the bulk operation (no second object per write).',
    '',
    `4. **Module runner and context: ${pct(stageShare(p?.single, 'module runner'))} of 1a; batch writer and intents: ${pct(stageShare(p?.single, 'batch writer'))} of 1a, ${pct(stageShare(p?.bank, 'batch writer'))} of 1b.**`,
    '   The hottest functions of each profile, in the tables above, are the places to start.',
    '',
    `5. **In 1b the modules are the larger half.** Dispatch alone costs ${n1(dispatchOnly)} µs per event; each module`,
    `   adds the engine's per-handler cost (1a: ${def ? n1(def.cpuUsPerEvent) : '?'} CPU µs per event, dispatch included) plus its own`,
    `   logic; the costliest are ${heavy
      .slice(0, 3)
      .map((m) => `${m.module} (${n1(m.cpuUsPerStreamEvent)} µs per stream event)`)
      .join(', ')}.`,
    "   The transfer saga reads only the destination's credit of its transfer and its account-state",
    '   events (`readStream` with a filter), not its whole history; the compliance reaction reads and rewrites its',
    '   whole activity-window document per event. With up to eight modules on every money event,',
    `   40,000 events/s leaves about ${n1(1e6 / 40_000 / 8)} µs per module per event: engine work per handler and the`,
    '   heaviest modules both need to shrink by an order of magnitude.',
  ];
}

/** Issue #4 asks < 250 MB draining 200,000 events; issue #8 < 300 MB draining 500,000. */
export function memoryLimitMb(events: number): number {
  return events > 200_000 ? 300 : 250;
}

/**
 * The figure the target is judged on: the single guarded-upsert module (the issue's "that
 * module": the naive projector's very writes) over naive, the median of the per-repetition
 * ratios when the run has them.
 */
export function headlineRatio(tp: R.WireThroughput): number {
  return tp.ratios.singleOverNaivePaired ?? tp.ratios.singleOverNaive;
}

function wireVerdict(tp: R.WireThroughput): string {
  const r = tp.ratios;
  const paired = r.singleOverNaivePaired !== undefined;
  return (
    `${headlineRatio(tp).toFixed(2)}× single upsert (${paired ? 'median of per-repetition ratios' : 'ratio of medians'}), ` +
    `${(r.counterOverNaivePaired ?? r.counterOverNaive).toFixed(2)}× event-counter (2 writes/event)`
  );
}

function wireFindings(i: Inputs): string[] {
  const lines: string[] = [];
  const { defaults } = i;
  if (i.tp) {
    const c = i.tp.serverCeiling;
    const best = Math.max(
      ...i.tp.rows.filter((r) => r.name.startsWith('projectord')).map((r) => r.median),
    );
    lines.push(
      `6. **Over the wire.** In the same run the server took the naive projector's very writes at`,
      `   ${n0(c.bulkOpsPerSec)} ops/s as unordered bulkWrites of 500 and ${n0(c.awaitedOpsPerSec)} ops/s awaited one by one (${c.ratio.toFixed(2)}×, no change`,
      `   stream involved); the best projectord row reached ${n0(best)} events/s. The server, not projectord, is`,
      "   the bound here: with the driver's command log and the JVM's own CPU time (2026-11-26, 10,000",
      '   events), the Java server used as much CPU as the whole wall time of a projectord run (2.4–3.3 s of',
      '   CPU for 2.4–3.2 s), against 1.1–1.4 s for the daemon; a Java Flight Recorder profile of it put',
      '   62 % of its samples in `update` (each guarded filter scans the collection: the fallback uses an',
      '   index only when the filter names exactly its keys), 14 % in `insert`, 6 % in the confirmation',
      '   `find`s and 5 % in `getMore` (which re-reads the whole oplog: the bare reader slows from',
      '   one repetition to the next as the oplog grows). The event-counter row pays for its second write:',
      '   one totals document shared by all 200 aggregates, with an applied marker per aggregate, that',
      '   the fallback copies whole on every update (the server used twice the CPU of the single-upsert',
      '   run for it). Per round, a lane still runs one event per aggregate (the next waits for the',
      '   acknowledgment of the one before), so at most 200 events share a bulk round trip here; the',
      "   batches seen in the command log held 20–160 events. Running an aggregate's next handler while",
      '   the previous write is in flight would need ordered writes per document and reads that wait',
      '   for them — not done, and not what bounds this server.',
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
      `7. **Latency** (p50 ${p50s} ms and p99 ${p99s} ms across the loads). An empty \`tryNext()\``,
      '   that came back in less than half of `maxAwaitTimeMs` (a server that did not wait for data)',
      '   is followed by a pause of 20 ms, doubling with each empty answer in a row up to 200 ms',
      '   (src/source/changeStream.ts `idlePauseMs`); an event inserted during it waits for it, then for',
      '   its batch to be written. Until d83694a the pause stayed at 20 ms: the idle getMores, each',
      '   re-reading the whole oplog on this server, then cost it more than the work (p99 84.0, 164.6 and',
      '   472.4 ms at 100, 300 and 1,000 events/s in the run at d9a6bc1). The tail moves from run to run with the',
      "   machine's load (see the load averages): the daemon, the inserter and the Java server share 2",
      '   cores with other work.',
    );
  }
  if (i.recovery) {
    const worst = Math.max(...i.recovery.reps.map((r) => r.reprocessed));
    lines.push(
      '',
      worst <= i.recovery.checkpoint.everyEvents
        ? `8. **Re-processing after kill -9 stayed within the checkpoint interval here** (at most ${n0(worst)}; interval`
        : `8. **Re-processing after kill -9 went past the checkpoint interval** (at most ${n0(worst)}; interval`,
      `   ${i.recovery.checkpoint.everyEvents} events / ${i.recovery.checkpoint.everyMs} ms), but the interval alone is not the bound. A checkpoint`,
      '   stores the low watermark (invariant 4): everything finished out of order beyond the oldest',
      `   unfinished event — up to \`lanes.maxInFlight\` = ${defaults.lanes.maxInFlight} events when the daemon is behind — is`,
      '   read again, on top of what finished since the last save. Every re-read event was recognised',
      '   as applied (outcome `duplicate`) and the counts matched exactly: at-least-once delivery,',
      `   exactly-once effects. Of the ${n0(i.recovery.median.firstProcessedMs)} ms to the first event, ${n0(i.recovery.median.httpUpMs)} ms pass before the new process`,
      '   serves /metrics (Node starting and loading its modules); the rest is connecting, taking the',
      '   lease back, preparing the module and reopening the change stream at the checkpoint.',
    );
  }
  return lines;
}

export function analysis(i: Inputs): string[] {
  return [...verdict(i), '', ...engineFindings(i), '', ...wireFindings(i)];
}
