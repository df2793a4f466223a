import { median, spread } from '../lib/stats.js';

/** One timed run of the in-process engine, and the medians the report quotes. */
export interface EngineRunFigures {
  evPerSec: number;
  usPerEvent: number;
  cpuUsPerEvent: number;
  gcShare: number;
  load1: number;
  batches?: number;
  /** Write operations sent per event (spans make it less than the handlers' writes). */
  writesPerEvent?: number;
}

export function summarise(runs: EngineRunFigures[]) {
  const pick = (k: keyof EngineRunFigures) => runs.map((r) => r[k] ?? 0);
  return {
    evPerSec: median(pick('evPerSec')),
    evPerSecSpread: spread(pick('evPerSec')),
    usPerEvent: median(pick('usPerEvent')),
    cpuUsPerEvent: median(pick('cpuUsPerEvent')),
    gcShare: median(pick('gcShare')),
    load1: median(pick('load1')),
    writesPerEvent: median(pick('writesPerEvent')),
  };
}
