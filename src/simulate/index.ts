/** The simulated bank command side: what the CLI, the demo and the benchmarks use. */
export { createSimulator } from './simulator.js';
export type { RunOptions, Simulator, SimulatorOptions } from './simulator.js';
export { formatSummary } from './summary.js';
export type { SimulationSummary } from './summary.js';
export { DEFAULT_MIX } from './planner.js';
export type { ScenarioMix } from './planner.js';
export { SCENARIOS } from './commands.js';
export type { Scenario } from './commands.js';
export { auditStreams, isClean } from './streamAudit.js';
export type { StreamAudit } from './streamAudit.js';
