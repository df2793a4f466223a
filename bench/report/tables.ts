import type {
  EngineBank,
  EngineProfile,
  EngineSingle,
  ProfileOf,
  WireLatency,
  WireMemory,
  WireRebuild,
  WireRecovery,
  WireThroughput,
} from './results.js';

/** Markdown tables of each scenario's figures (the prose around them is in render.ts). */
export const n0 = (n: number): string => Math.round(n).toLocaleString('en');
export const n1 = (n: number): string => n.toFixed(1);
export const pct = (n: number): string => `${Math.round(n * 100)} %`;

export function table(head: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

export function singleTable(r: EngineSingle): string {
  return table(
    [
      'module and configuration',
      'events/s (median)',
      'min – max',
      'µs/event (wall)',
      'CPU µs/event',
      'events per CPU-second',
      'GC share',
      'runs',
    ],
    r.rows.map((x) => [
      x.label,
      `**${n0(x.median.evPerSec)}**`,
      `${n0(x.median.evPerSecSpread.min)} – ${n0(x.median.evPerSecSpread.max)}`,
      n1(x.median.usPerEvent),
      n1(x.median.cpuUsPerEvent),
      n0(1e6 / x.median.cpuUsPerEvent),
      pct(x.median.gcShare),
      String(x.runs.length),
    ]),
  );
}

export function bankTable(r: EngineBank): string {
  const m = r.median;
  return table(
    [
      'events/s (median)',
      'min – max',
      'µs/event (wall)',
      'CPU µs/event',
      'GC share',
      'memory store share',
      'runs',
    ],
    [
      [
        `**${n0(m.evPerSec)}**`,
        `${n0(m.evPerSecSpread.min)} – ${n0(m.evPerSecSpread.max)}`,
        n1(m.usPerEvent),
        n1(m.cpuUsPerEvent),
        pct(m.gcShare),
        pct(m.storeShare),
        String(r.runs.length),
      ],
    ],
  );
}

export function perModuleTable(r: EngineBank): string {
  const base = r.perModule.find((m) => m.kind === '')?.cpuUsPerStreamEvent ?? 0;
  // Per handled event, after the dispatch cost every row shares; a module that handles a sliver
  // of the stream is within the noise of that subtraction.
  const perHandled = (m: EngineBank['perModule'][number]) =>
    m.handled < 0.05 * r.streamEvents
      ? '– (too few events to tell)'
      : n1(Math.max(0, m.cpuUsPerStreamEvent - base) * (r.streamEvents / m.handled));
  return table(
    [
      'module',
      'kind',
      'events handled',
      'CPU µs per stream event',
      'CPU µs per handled event, dispatch excluded',
    ],
    r.perModule.map((m) => [
      m.module,
      m.kind,
      n0(m.handled),
      n1(m.cpuUsPerStreamEvent),
      m.kind === '' ? '–' : perHandled(m),
    ]),
  );
}

export function stagesTable(p: EngineProfile): string {
  const stages = [...new Set([...p.single.stages, ...p.bank.stages].map((s) => s.stage))];
  const share = (of: ProfileOf, stage: string) => {
    const ms = of.stages.find((s) => s.stage === stage)?.ms ?? 0;
    return pct(ms / of.sampledMs);
  };
  return table(
    ['stage (where the CPU time went)', '1a single upsert', '1b bank modules'],
    stages.map((s) => [s, share(p.single, s), share(p.bank, s)]),
  );
}

export function hottestTable(of: ProfileOf, count = 5): string {
  return table(
    ['function', 'where', 'self ms', 'self share', 'inclusive ms'],
    of.topSelfJs
      .slice(0, count)
      .map((f) => [
        `\`${f.name}\``,
        f.where,
        n0(f.selfMs),
        pct(f.selfMs / of.sampledMs),
        n0(f.totalMs),
      ]),
  );
}

export function throughputTable(r: WireThroughput): string {
  return table(
    ['contender', 'events/s (median)', 'runs (events/s)'],
    [
      ...r.rows.map((x) => [x.name, `**${n0(x.median)}**`, x.runs.map(n0).join(', ')]),
      [
        'server alone: the naive writes as bulkWrite of 500 (no stream)',
        n0(r.serverCeiling.bulkOpsPerSec),
        '',
      ],
      [
        'server alone: the naive writes awaited one at a time (no stream)',
        n0(r.serverCeiling.awaitedOpsPerSec),
        '',
      ],
    ],
  );
}

export function memoryTable(r: WireMemory): string {
  // Flatness: the range over the second half of the drain, once the heap has its working size.
  const late = r.samples.filter((x) => x.s >= r.drainS / 2).map((x) => x.rssMb);
  return table(
    [
      'backlog',
      'drain time',
      'RSS first',
      'RSS peak',
      'RSS last',
      'RSS over the second half',
      'samples',
    ],
    [
      [
        n0(r.events),
        `${n1(r.drainS)} s`,
        `${n0(r.rssMb.first)} MB`,
        `**${n0(r.rssMb.peak)} MB**`,
        `${n0(r.rssMb.last)} MB`,
        `${n0(Math.min(...late))} – ${n0(Math.max(...late))} MB`,
        String(r.samples.length),
      ],
    ],
  );
}

export function latencyTable(r: WireLatency): string {
  return table(
    ['offered load', 'achieved', 'events measured', 'p50', 'p95', 'p99', 'max'],
    r.rows.map((x) => [
      `${x.rate} events/s`,
      n1(x.achievedRate),
      n0(x.measured),
      `${n1(x.p50)} ms`,
      `${n1(x.p95)} ms`,
      `**${n1(x.p99)} ms**`,
      `${n1(x.max)} ms`,
    ]),
  );
}

const ONE_SECOND_MS = 1000;

/** Where p99 passes 1 s, from the loads measured: between two of them, or not within them. */
export function p99PassesOneSecond(r: WireLatency): string {
  const rows = [...r.rows].sort((a, b) => a.rate - b.rate);
  const i = rows.findIndex((x) => x.p99 >= ONE_SECOND_MS);
  const first = rows[i];
  const before = rows[i - 1];
  const top = rows[rows.length - 1];
  if (!first) {
    return top
      ? `p99 stays under 1 s up to ${n0(top.rate)} events/s (${n1(top.p99)} ms there), the highest load offered: the load at which it passes 1 s lies beyond it.`
      : '';
  }
  return before
    ? `p99 passes 1 s between ${n0(before.rate)} events/s (${n1(before.p99)} ms) and ${n0(first.rate)} events/s (${n1(first.p99)} ms).`
    : `p99 is past 1 s already at ${n0(first.rate)} events/s, the lowest load offered (${n1(first.p99)} ms).`;
}

/** Rebuild over bare scan, of the medians. */
export const rebuildRatio = (r: WireRebuild): number =>
  r.median.rebuildEvPerSec / r.median.bareEvPerSec;

export function rebuildTable(r: WireRebuild): string {
  const rows = r.reps.map((x, i) => [
    String(i + 1),
    `${n0(x.bareEvPerSec)} (${n1(x.bareS)} s)`,
    `${n0(x.rebuildEvPerSec)} (${n1(x.rebuild.seconds)} s)`,
    `${x.ratio.toFixed(3)}×`,
    `${n0(x.rebuild.viewDocs)} = ${n0(r.accounts)}`,
  ]);
  rows.push([
    '**median**',
    `**${n0(r.median.bareEvPerSec)}**`,
    `**${n0(r.median.rebuildEvPerSec)}**`,
    `**${rebuildRatio(r).toFixed(3)}×**`,
    '',
  ]);
  return table(
    [
      'rep',
      'bare find() scan, events/s',
      'rebuild account-summary, events/s',
      'rebuild / bare',
      'view documents = accounts created',
    ],
    rows,
  );
}

export function recoveryTable(r: WireRecovery): string {
  const rows = r.reps.map((x, i) => [
    String(i + 1),
    `${n0(x.httpUpMs)} ms`,
    `${n0(x.firstProcessedMs)} ms`,
    `${n0(x.firstNewEffectMs)} ms`,
    n0(x.reprocessed),
    `${n0(x.inserted)} = ${n0(x.inserted)}`,
  ]);
  rows.push([
    '**median**',
    `${n0(r.median.httpUpMs)} ms`,
    `**${n0(r.median.firstProcessedMs)} ms**`,
    `${n0(r.median.firstNewEffectMs)} ms`,
    `**${n0(r.median.reprocessed)}**`,
    '',
  ]);
  return table(
    [
      'rep',
      'restart → /metrics up',
      'restart → first event finished',
      'restart → first new effect',
      'events re-processed',
      'inserted = counted',
    ],
    rows,
  );
}
