import type { DemoSnapshot, ModuleRow } from './snapshot.js';

/**
 * What the demo shows, as plain strings: a table of modules redrawn in place on a terminal,
 * one summary line at a time elsewhere (CI logs, pipes). Pure, so the wording is unit-tested.
 */
export type DemoPhase = 'simulating' | 'catching up' | 'verifying';

export interface DemoView {
  phase: DemoPhase;
  elapsedMs: number;
  /** Events the simulator has written, of `target` when the run has a count. */
  written: number;
  target?: number;
  /** Simulator events per second over the last poll interval. */
  ratePerSec: number;
  snapshot?: DemoSnapshot;
  /** While catching up: what is still awaited. */
  waitingFor?: string;
}

/** The transfer saga's states in the order a transfer goes through them (DOMAIN.md). */
const SAGA_ORDER = ['DebitCompleted', 'CreditPending', 'Completed', 'Compensating', 'Compensated'];

const COLUMNS = [
  { title: 'module', width: 24, left: true },
  { title: 'mode', width: 12, left: true },
  { title: 'applied', width: 9 },
  { title: 'pending', width: 8 },
  { title: 'lag', width: 8 },
  { title: 'dead letters', width: 13 },
] as const;

const cell = (text: string, c: (typeof COLUMNS)[number]) =>
  'left' in c ? text.padEnd(c.width) : text.padStart(c.width);

export function formatLag(ms: number | null): string {
  if (ms === null) return '?';
  return ms < 60_000
    ? `${(ms / 1000).toFixed(1)}s`
    : `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}

export function moduleTable(rows: readonly ModuleRow[]): string[] {
  const line = (cells: string[]) =>
    cells
      .map((text, i) => cell(text, COLUMNS[i] ?? COLUMNS[0]))
      .join(' ')
      .trimEnd();
  return [
    line(COLUMNS.map((c) => c.title)),
    ...rows.map((r) =>
      line([
        r.module,
        r.mode,
        String(r.applied),
        String(r.pending),
        formatLag(r.lagMs),
        String(r.deadLetters),
      ]),
    ),
  ];
}

export function sagaLine(states: Readonly<Record<string, number>>): string {
  const known = SAGA_ORDER.filter((s) => (states[s] ?? 0) > 0);
  const other = Object.keys(states)
    .filter((s) => !SAGA_ORDER.includes(s))
    .sort();
  const parts = [...known, ...other].map((s) => `${s} ${states[s] ?? 0}`);
  return `transfer sagas: ${parts.length > 0 ? parts.join(' · ') : 'none yet'}`;
}

/** The simulator's progress: what the bar on a terminal is drawn beside. */
export function progressLine(v: DemoView): string {
  const written = v.target === undefined ? `${v.written}` : `${v.written}/${v.target}`;
  const seconds = `${(v.elapsedMs / 1000).toFixed(1)}s`;
  return `simulated ${written} events (${Math.round(v.ratePerSec)}/s) · ${seconds}`;
}

/** The phase, the store's size and, while catching up, what is still awaited. */
export function phaseLine(v: DemoView): string {
  const store = v.snapshot ? ` · event_store ${v.snapshot.events} events` : '';
  const waiting = v.waitingFor ? ` · waiting for ${v.waitingFor}` : '';
  return `${v.phase}${store}${waiting}`;
}

/** The whole picture on a terminal: progress, phase, module table, saga states. */
export function liveLines(v: DemoView): [string, ...string[]] {
  const s = v.snapshot;
  return [
    progressLine(v),
    phaseLine(v),
    ...(s ? [...moduleTable(s.modules), sagaLine(s.sagaStates)] : []),
  ];
}

/** One line for logs: the headline plus the totals a reader scans for. */
export function plainLine(v: DemoView): string {
  const s = v.snapshot;
  const head = `${progressLine(v)} · ${phaseLine(v)}`;
  if (!s) return head;
  const live = s.modules.filter((m) => m.mode === 'live' && m.pending === 0).length;
  const pending = s.modules.reduce((n, m) => n + m.pending, 0);
  const dead = s.modules.reduce((n, m) => n + m.deadLetters, 0);
  return (
    `${head} · modules idle ${live}/${s.modules.length}, pending ${pending}, ` +
    `dead letters ${dead} · ${sagaLine(s.sagaStates)}`
  );
}
