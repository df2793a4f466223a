import { z } from 'zod';
import { LOG_LEVELS } from '../observability/logger.js';
import { DEFAULT_DEADLINE_RETENTION_MS } from '../reactions/deadlines.js';
import { bankSchema } from './bankSchema.js';

/**
 * The whole configuration, with every default in one place. Units are in the key names.
 * Layers (lowest first): these defaults < config file < PROJECTORD_* environment < CLI flags.
 * Objects are strict: an unknown key is an error naming the key, never silently ignored.
 */
const ms = (def: number, min = 0) => z.number().int().min(min).default(def);
const count = (def: number, min = 1) => z.number().int().min(min).default(def);

export const MAX_PARTITIONS = 1024;
const PARTITIONS_RULE = `must be a whole number of partitions from 1 to ${MAX_PARTITIONS}`;
const partitionCount = z
  .number({ error: PARTITIONS_RULE })
  .int({ error: PARTITIONS_RULE })
  .min(1, { error: PARTITIONS_RULE })
  .max(MAX_PARTITIONS, { error: PARTITIONS_RULE });

export const mongoUriSchema = z.string().refine((v) => /^mongodb(\+srv)?:\/\/[^\s/]+/.test(v), {
  message: 'must be a MongoDB connection string like mongodb://host:27017 (or mongodb+srv://…)',
});

export const configSchema = z
  .object({
    /** Connection string of the event store's deployment; empty = none given. */
    mongoUri: mongoUriSchema.optional(),
    /** Database holding event_store and every collection projectord writes. */
    db: z
      .string()
      .regex(/^[^/\\. "$*<>:|?]{1,63}$/, 'must be a valid MongoDB database name')
      .default('event_sourcing_system'),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    /** Identifies this process in leases and status; defaults to hostname-pid. */
    instanceId: z.string().min(1).max(200).optional(),
    mongo: z
      .object({
        operationTimeoutMs: ms(30_000, 100),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        host: z.string().min(1).default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(9464),
      })
      .strict()
      .prefault({}),
    modules: z
      .object({
        /** Files or package names of modules to load; when empty, `dir` is scanned. */
        paths: z.array(z.string().min(1)).default([]),
        /** Folder scanned for modules when `paths` is empty; default: the built-in bank modules. */
        dir: z.string().min(1).optional(),
        /** Only run these module names (empty = all loaded). */
        enabled: z.array(z.string().min(1)).default([]),
        /** Per-module settings handed to the module as `ctx.settings`. */
        settings: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
        /** Partitions per module, `{ <module>: N }`; a module not named has 1 (src/partitions). */
        partitions: z.record(z.string().min(1), partitionCount).default({}),
      })
      .strict()
      .prefault({}),
    source: z
      .object({
        /** Events read per catch-up batch from event_store. */
        catchUpBatchSize: count(1000),
        /** Change-stream getMore batch size. */
        batchSize: count(1000),
        /** Longest wait of one getMore while the stream is quiet. */
        maxAwaitTimeMs: ms(500, 1),
        /** Backoff for resubscribing after a transient error. */
        retryBaseDelayMs: ms(100, 1),
        retryMaxDelayMs: ms(10_000, 1),
        /**
         * Re-read every live event from event_store before dispatching it. `auto`: only when the
         * server is not a real mongod (its buildInfo has no gitVersion) — the embedded fallback
         * emits change events for inserts it refused with E11000.
         */
        confirmInserts: z.enum(['auto', 'always', 'never']).default('auto'),
      })
      .strict()
      .prefault({}),
    lanes: z
      .object({
        /** Events accepted into one lane and not yet finished; the source waits beyond it. */
        maxInFlight: count(500),
        /** Aggregates one lane runs at once. */
        concurrency: count(256),
      })
      .strict()
      .prefault({}),
    writer: z
      .object({
        maxBatchSize: count(500),
        flushIntervalMs: ms(0),
      })
      .strict()
      .prefault({}),
    checkpoint: z
      .object({
        everyEvents: count(500),
        everyMs: ms(1000, 1),
      })
      .strict()
      .prefault({}),
    retry: z
      .object({
        /** Attempts of one handler on one event before it is dead-lettered. */
        maxAttempts: count(5),
        baseDelayMs: ms(50),
        maxDelayMs: ms(5_000),
      })
      .strict()
      .prefault({}),
    shutdown: z
      .object({
        timeoutMs: ms(15_000, 1),
      })
      .strict()
      .prefault({}),
    leases: z
      .object({
        ttlMs: ms(15_000, 1000),
        heartbeatMs: ms(5_000, 100),
      })
      .strict()
      .prefault({}),
    deadlines: z
      .object({
        /** How long fired and cancelled saga deadlines are kept before MongoDB deletes them. */
        retentionMs: ms(DEFAULT_DEADLINE_RETENTION_MS, 60 * 60 * 1000),
      })
      .strict()
      .prefault({}),
    health: z
      .object({
        /** A module whose lag exceeds this is not ready. */
        maxLagMs: ms(30_000, 1),
        /** A lane with work waiting and no progress for this long is stuck. */
        stuckAfterMs: ms(60_000, 1),
        /**
         * Nothing pending while event_store holds a newer handled event for this long: stalled
         * (the stream is reopened, then event_store scanned). Also the probe's period.
         */
        stallMs: ms(30_000, 100),
      })
      .strict()
      .prefault({}),
    bank: bankSchema.prefault({}),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;
export type Config = Readonly<z.output<typeof configSchema>>;
