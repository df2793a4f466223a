import type { Command } from 'commander';
import { registerMongo } from './mongo.js';
import { registerSimulate } from './simulate.js';

/** Every CLI command, one file each. Add one line per command. */
export const COMMANDS: readonly ((program: Command) => void)[] = [registerMongo, registerSimulate];
