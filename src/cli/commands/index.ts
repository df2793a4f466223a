import type { Command } from 'commander';
import { registerCompliance } from './compliance.js';
import { registerDemo } from './demo.js';
import { registerMongo } from './mongo.js';
import { registerRun } from './run.js';
import { registerSimulate } from './simulate.js';
import { registerStatus } from './status.js';
import { registerDlq } from './dlq.js';
import { registerRebuild } from './rebuild.js';
import { registerReplay } from './replay.js';
import { registerVerify } from './verify.js';

/** Every CLI command, one file each. Add one line per command. */
export const COMMANDS: readonly ((program: Command) => void)[] = [
  registerCompliance,
  registerDemo,
  registerMongo,
  registerRun,
  registerSimulate,
  registerStatus,
  registerDlq,
  registerRebuild,
  registerReplay,
  registerVerify,
];
