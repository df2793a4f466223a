import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, join, relative } from 'node:path';

/**
 * Reads a V8 `.cpuprofile` (node --cpu-prof) and answers where the time went: self time per
 * function (the function that was on top of the stack when sampled), inclusive time per
 * function (anywhere on the stack, counted once per sample even when recursive), and self
 * time per file. Times are in ms of the sampled span.
 */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  /** file:line relative to the repository, or the V8 pseudo-frame's name. */
  where: string;
  selfMs: number;
  totalMs: number;
}

export interface ProfileSummary {
  sampledMs: number;
  functions: FunctionTime[];
  files: { file: string; selfMs: number }[];
  /** Self time charged to the innermost stack frame that belongs to a pipeline stage. */
  stages: { stage: string; ms: number }[];
}

/** Pipeline stages by source path, most specific first; the first match on the stack wins. */
const STAGES: [RegExp, string][] = [
  [/^\(garbage collector\)$/, 'garbage collection'],
  [/(^|\/)(projections|bench\/modules|src\/modules\/testing)\//, 'module code (handlers)'],
  [/(^|\/)src\/modules\//, 'module runner and context'],
  [/(^|\/)src\/writer\//, 'batch writer and write intents'],
  [/(^|\/)(src\/lanes\/|p-queue\/)/, 'lane (per-aggregate queues, p-queue)'],
  [/(^|\/)src\/dispatch\//, 'dispatch (validate, upcast, route)'],
  [/(^|\/)src\/checkpoint\//, 'checkpointer and watermark'],
  [
    /(^|\/)bench\/lib\/(memoryStore|memorySink|memoryEventLog)/,
    'in-memory store (stands in for MongoDB)',
  ],
  [/(^|\/)(bench|test)\//, 'benchmark harness'],
];

function stageOf(file: string): string | undefined {
  return STAGES.find(([re]) => re.test(file))?.[1];
}

const maps = new Map<string, SourceMap | undefined>();

/** The TypeScript file and line of a frame in the compiled benchmark build (via its .js.map). */
function original(path: string, frame: CallFrame): { path: string; line: number } | undefined {
  if (!maps.has(path)) {
    const file = `${path}.map`;
    maps.set(
      path,
      existsSync(file)
        ? new SourceMap(JSON.parse(readFileSync(file, 'utf8')) as SourceMapPayload)
        : undefined,
    );
  }
  const entry = maps.get(path)?.findEntry(frame.lineNumber, frame.columnNumber);
  if (!entry || !('originalSource' in entry)) return undefined;
  return { path: join(dirname(path), entry.originalSource), line: entry.originalLine + 1 };
}

function locate(frame: CallFrame, root: string): { file: string; line: number } {
  if (!frame.url) return { file: '(native)', line: 0 };
  const path = frame.url.startsWith('file://') ? new URL(frame.url).pathname : frame.url;
  const mapped = path.startsWith('/') ? original(path, frame) : undefined;
  const abs = mapped?.path ?? path;
  const short = abs.startsWith('/') ? relative(root, abs) : abs;
  return { file: short.replace(/^node_modules\//, ''), line: mapped?.line ?? frame.lineNumber + 1 };
}

export function summariseProfile(file: string, root: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n: ProfileNode) => {
    const f = n.callFrame;
    const name = f.functionName || '(anonymous)';
    const at = locate(f, root);
    const where = f.url ? `${at.file}:${at.line}` : at.file;
    return { key: `${name}@${where}`, name, where, file: at.file };
  };
  const fns = new Map<string, FunctionTime>();
  const files = new Map<string, number>();
  const stages = new Map<string, number>();
  let sampledMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    sampledMs += ms;
    const top = byId.get(id);
    if (!top) return;
    let stage: string | undefined;
    for (let n: ProfileNode | undefined = top; n && !stage; n = byId.get(parent.get(n.id) ?? -1)) {
      const k = keyOf(n);
      stage = stageOf(k.file === '(native)' ? k.name : k.file);
    }
    stage ??= 'other (Node internals, idle, start-up)';
    stages.set(stage, (stages.get(stage) ?? 0) + ms);
    const seen = new Set<string>();
    for (let n: ProfileNode | undefined = top; n; n = byId.get(parent.get(n.id) ?? -1)) {
      const k = keyOf(n);
      let entry = fns.get(k.key);
      if (!entry) fns.set(k.key, (entry = { name: k.name, where: k.where, selfMs: 0, totalMs: 0 }));
      if (n === top) {
        entry.selfMs += ms;
        files.set(k.file, (files.get(k.file) ?? 0) + ms);
      }
      if (!seen.has(k.key)) {
        entry.totalMs += ms;
        seen.add(k.key);
      }
    }
  });
  return {
    sampledMs,
    functions: [...fns.values()].sort((a, b) => b.selfMs - a.selfMs),
    files: [...files]
      .map(([f, selfMs]) => ({ file: f, selfMs }))
      .sort((a, b) => b.selfMs - a.selfMs),
    stages: [...stages].map(([stage, ms]) => ({ stage, ms })).sort((a, b) => b.ms - a.ms),
  };
}
