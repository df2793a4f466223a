import type { Command } from 'commander';
import { registerCompliance } from './compliance.js';
import { registerMongo } from './mongo.js';
import { registerRun } from './run.js';
import { registerSimulate } from './simulate.js';
import { registerStatus } from './status.js';

/** Every CLI command, one file each. Add one line per command. */
export const COMMANDS: readonly ((program: Command) => void)[] = [
  registerCompliance,
  registerMongo,
  registerRun,
  registerSimulate,
  registerStatus,
];
