/** The shapes of bench-results/*.json, as the scenarios write them and the report reads them. */
export interface Spread {
  min: number;
  max: number;
}

export interface EngineMedian {
  evPerSec: number;
  evPerSecSpread: Spread;
  usPerEvent: number;
  cpuUsPerEvent: number;
  gcShare: number;
  load1: number;
}

export interface EngineSingle {
  events: number;
  aggregates: number;
  rows: { id: string; label: string; runs: unknown[]; median: EngineMedian }[];
}

export interface EngineBank {
  events: number;
  streamEvents: number;
  accounts: number;
  byType: Record<string, number>;
  appends: number;
  runs: unknown[];
  median: EngineMedian & { storeShare: number };
  perModule: {
    module: string;
    kind: string;
    handled: number;
    cpuUsPerStreamEvent: number;
    cpuUsPerHandledEvent: number;
    storeShare: number;
  }[];
}

export interface FunctionTime {
  name: string;
  where: string;
  selfMs: number;
  totalMs: number;
}

export interface ProfileOf {
  file: string;
  sampledMs: number;
  stages: { stage: string; ms: number }[];
  topSelf: FunctionTime[];
  topSelfJs: FunctionTime[];
  topTotal: FunctionTime[];
}

export interface EngineProfile {
  single: ProfileOf;
  bank: ProfileOf;
}

export interface WireThroughput {
  backend: string;
  events: number;
  aggregates: number;
  reps: number;
  rows: { name: string; runs: number[]; median: number }[];
  serverCeiling: { bulkOpsPerSec: number; awaitedOpsPerSec: number; ratio: number };
  /** Whether an untimed round of every contender ran first (runs before 2026-11-26 18:30: no). */
  warmUp?: boolean;
  /** Per repetition, contender over naive in the same round. */
  pairedRatios?: { singleOverNaive: number[]; counterOverNaive: number[] };
  ratios: {
    counterOverNaive: number;
    singleOverNaive: number;
    singleOverNaivePaired?: number;
    counterOverNaivePaired?: number;
    oldDefaultsOverNaive?: number;
    counterOverBare: number;
    singleOverBare?: number;
  };
}

export interface WireBankThroughput {
  backend: string;
  events: number;
  initialAccounts: number;
  accounts?: number;
  byType?: Record<string, number>;
  reps: number;
  rows: { name: string; runs: number[]; median: number }[];
  pairedRatios: { projectionsOverNaive: number[] };
  ratios: { projectionsOverNaive: number; projectionsOverBare: number };
}

export interface WireMemory {
  backend: string;
  events: number;
  aggregates: number;
  source: string;
  insertS: number;
  drainS: number;
  rssMb: { first: number; peak: number; last: number };
  samples: { s: number; rssMb: number; heapMb: number; applied: number }[];
}

export interface WireLatency {
  backend: string;
  seconds: number;
  warmupSeconds: number;
  aggregates: number;
  rows: {
    rate: number;
    achievedRate: number;
    measured: number;
    p50: number;
    p95: number;
    p99: number;
    max: number;
  }[];
}

export interface RebuildRep {
  bareEvPerSec: number;
  bareS: number;
  rebuildEvPerSec: number;
  /** rebuild events/s over bare-scan events/s, the scan run just before the rebuild. */
  ratio: number;
  rebuild: {
    seconds: number;
    scanned: number;
    handled: number;
    invalid: number;
    secondPassHandled: number;
    viewDocs: number;
  };
}

export interface WireRebuild {
  backend: string;
  events: number;
  accounts: number;
  initialAccounts: number;
  byType: Record<string, number>;
  batchSize: number;
  insertS: number;
  reps: RebuildRep[];
  median: { rebuildEvPerSec: number; bareEvPerSec: number };
}

export interface RecoveryRep {
  httpUpMs: number;
  firstProcessedMs: number;
  firstNewEffectMs: number;
  reprocessed: number;
  atKill: number;
  inserted: number;
}

export interface WireRecovery {
  backend: string;
  rate: number;
  checkpoint: { everyEvents: number; everyMs: number };
  reps: RecoveryRep[];
  median: {
    httpUpMs: number;
    firstProcessedMs: number;
    firstNewEffectMs: number;
    reprocessed: number;
  };
}

export interface RunInfo {
  part: 'engine' | 'all';
  startedAt: string;
  finishedAt: string;
  load1AtStart: number;
  scenarios: { script: string; seconds: number; ok: boolean }[];
}
