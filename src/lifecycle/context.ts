import type { Db } from 'mongodb';
import type { Config } from '../config/schema.js';
import type { ReactionServices } from '../modules/context.js';
import type { Logger } from '../observability/logger.js';
import type { Partitioning } from '../partitions/counts.js';
import type { SplitRebuilds } from '../partitions/splitRebuild.js';
import type { ChangeStreamSourceOptions, SourceItem } from '../source/changeStream.js';
import type { DaemonServices } from './services.js';
import type { DaemonHooks } from './status.js';

/** What the daemon's parts (epoch, catch-up, follow, drain) share; fixed for the daemon's life. */
export interface DaemonContext extends DaemonServices {
  db: Db;
  config: Config;
  logger: Logger;
  hooks: DaemonHooks;
  now(): Date;
  reactions?: ReactionServices;
  /** Each module's partition count and key router (partitions/counts.ts). */
  partitioning: Partitioning;
  /** Fencing token of this instance's lease on the slot now; 0 without leases. */
  fence(slot: string): number;
  /** Version rebuilds of split projections, with leases only (partitions/splitRebuild.ts). */
  splitRebuilds?: SplitRebuilds;
  /** The live source (a seam for tests). */
  source(o: ChangeStreamSourceOptions): AsyncGenerator<SourceItem>;
  /** Stalled slots and since when (stallWatch.ts), for status() and health. */
  stalls: Map<string, Date>;
}
