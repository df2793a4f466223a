/**
 * One sentence per configuration key for docs/CONFIGURATION.md: what it does and when to change
 * it. Types, defaults, limits and environment variables come from the schema itself
 * (reference.ts); a key added to the schema without a line here fails the docs unit test.
 */
export const CONFIG_DESCRIPTIONS: Readonly<Record<string, string>> = {
  mongoUri:
    'Connection string of the deployment holding event_store (`mongodb://` or `mongodb+srv://`). Holds a password: give it from a secret, never in the file; it is never logged.',
  db: 'Database of event_store; every collection projectord writes lives there too.',
  logLevel: 'Least severe log level written (JSON lines on stderr; pretty on a terminal).',
  instanceId:
    'Name of this process in leases, checkpoints and `status`. Default: `<hostname>-<pid>`; every replica needs its own.',
  'mongo.operationTimeoutMs':
    'Longest wait for one MongoDB operation the daemon depends on (a write batch, a checkpoint save, a change-stream read); then it counts as a dropped connection and is retried. An operation left unanswered must not hold a lane or a shutdown.',
  'metrics.host': 'Bind address of `/metrics`, `/healthz` and `/readyz`.',
  'metrics.port': 'Port of `/metrics`, `/healthz` and `/readyz`; 0 picks a free port.',
  'modules.paths':
    'Files or package names of modules (and upcaster lists) to load. When empty, `modules.dir` is scanned.',
  'modules.dir':
    'Folder scanned for module files and `upcasters.*` files when `modules.paths` is empty. Default: the built-in bank modules.',
  'modules.enabled': 'Run only these module names; empty runs every module loaded.',
  'modules.settings':
    'Per-module settings, `{ <module name>: { … } }`, handed to the module as `ctx.settings`. File only (no environment variable).',
  'modules.partitions':
    'Partitions per module, `{ <module name>: N }` (default 1): the module\'s ordering keys are split by a stable hash into N partitions, each with its own lease and checkpoint, spread over the running instances (docs/OPERATIONS.md "Partitions"). Change it only with every instance stopped. File only.',
  'source.catchUpBatchSize':
    'Events read per batch when a module catches up by scanning event_store.',
  'source.batchSize': 'Change-stream batch size (events per getMore).',
  'source.maxAwaitTimeMs': 'Longest wait of one getMore while the stream is quiet.',
  'source.confirmInserts':
    'Re-read each live event from event_store before dispatching it: auto = only on servers that are not a real mongod (the embedded fallback reports inserts it refused), always, or never.',
  'source.retryBaseDelayMs':
    'First delay before reopening the change stream after a transient error.',
  'source.retryMaxDelayMs':
    'Longest delay between reopening attempts (exponential backoff with jitter).',
  'lanes.maxInFlight':
    'Events accepted into one module lane and not yet finished; beyond it the source stops pulling (backpressure).',
  'lanes.concurrency': 'Ordering keys (aggregates) one lane runs at once.',
  'writer.maxBatchSize': 'Write intents per bulkWrite; a full batch is sent at once.',
  'writer.flushIntervalMs':
    'Longest wait of a write intent before its batch is sent; 0 = batch what is ready in one event-loop turn (group commit: more piles up while batches are in flight).',
  'checkpoint.everyEvents': 'Save a module checkpoint after this many finished events…',
  'checkpoint.everyMs': '…or after this long, whichever comes first (and always on stop).',
  'retry.maxAttempts':
    'Attempts of one handler on one event before it is dead-lettered and its ordering key parked.',
  'retry.baseDelayMs': 'First delay between handler attempts (doubling, with jitter).',
  'retry.maxDelayMs': 'Longest delay between handler attempts.',
  'shutdown.timeoutMs':
    'On SIGTERM/SIGINT, how long in-flight work may drain before the daemon exits anyway (unfinished events are re-read on restart). Keep it below the orchestrator’s grace period.',
  'leases.ttlMs':
    'Lease time: another instance takes over a module within this long after its owner died.',
  'leases.heartbeatMs': 'How often an instance renews its leases and tries to take free ones.',
  'deadlines.retentionMs':
    'How long a fired or cancelled saga deadline stays in `saga_deadlines` (a TTL index deletes it after). While kept, a repeated schedule of the same id is a no-op; keep it well above every saga timeout (at least 1 hour).',
  'health.maxLagMs':
    'A module lagging more than this while work waits is not ready (`/readyz`, `status`).',
  'health.stuckAfterMs':
    'A module with work waiting and no progress for this long is stuck (not ready).',
  'health.stallMs':
    'Stuck ≠ quiet: a module with nothing pending while event_store holds a newer event it handles, for this long, is stalled (not ready): the change stream is reopened from the checkpoint, then event_store is scanned. event_store is probed once per this period (one indexed query).',
  'bank.snapshotEveryEvents':
    '`aggregate_snapshots`: one snapshot every this many events of an account.',
  'bank.compliance.largeTransactionThreshold':
    '`large_transaction` flag, risk level `high` and a compliance review at an amount of this or more.',
  'bank.compliance.mediumRiskThreshold':
    'Risk level `medium` above this amount (below the large threshold).',
  'bank.compliance.homeCurrency': '`foreign_currency` flag for any other currency (ISO 4217 code).',
  'bank.compliance.retentionDays':
    '`retentionDate` of an audit entry: event time plus this many days.',
  'bank.compliance.riskWindowDays': 'The risk score counts events of this many days back.',
  'bank.compliance.riskScoreCap': 'Highest risk score.',
  'bank.compliance.highRiskPoints': 'Risk points per high-risk event in the window.',
  'bank.compliance.flaggedPoints': 'Risk points per flagged event in the window.',
  'bank.compliance.distinctIpPoints': 'Risk points per distinct source IP in the window.',
  'bank.compliance.burstPoints':
    'Risk points when the last hour holds more than `burstEventsPerHour` events.',
  'bank.compliance.burstEventsPerHour': 'Events in one hour above which the burst points apply.',
  'bank.compliance.velocityDebitsPerDay':
    'Suspicious activity (velocity) when an account has more debits than this in 24 hours.',
  'bank.compliance.structuringMinDebits':
    'Suspicious activity (structuring) at this many debits within 24 hours, each in the band below the large threshold.',
  'bank.compliance.structuringBandRatio':
    'The structuring band starts at this fraction of `largeTransactionThreshold`.',
  'bank.compliance.windowMaxEntries':
    'Most activity entries kept per account window; counts saturate there (far above every threshold).',
  'bank.sagas.transfer.creditDelayMs':
    'Grace before the transfer saga issues a missing credit (the command side may still write it).',
  'bank.sagas.transfer.timeoutMs':
    'Compensate a transfer whose credit has not happened this long after the debit.',
  'bank.sagas.transfer.maxRetries': 'Failed credit attempts retried before compensating.',
  'bank.sagas.transfer.retryBaseDelayMs': 'First delay between credit attempts (doubling).',
  'bank.sagas.complianceReview.reviewDeadlineMs':
    'An unreviewed case is marked `overdue` after this long.',
  'bank.sagas.complianceReview.timeoutMs': 'An unreviewed case is `timed_out` after this long.',
  'bank.sagas.fraud.freezeRiskScore':
    'Freeze the account when a detection carries a risk score of this or more.',
  'bank.sagas.fraud.monitoringPeriodMs':
    'A monitored account is cleared after this long without a new detection.',
};
