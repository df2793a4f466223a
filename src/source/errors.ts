import { MongoError } from 'mongodb';
import { mongoErrorCode } from '../lib/errors.js';

/**
 * Error classification (STYLE.md 10). `infrastructure`: the server or network is having a bad
 * moment — retry without limit and without blaming the event. `historyLost`: the stored resume
 * position is gone from the oplog — resync from event_store (invariant 5), never retry.
 * `fatal`: will not heal by waiting (authentication, change streams unsupported) — stop with a
 * clear message.
 */
export type ErrorClass = 'infrastructure' | 'historyLost' | 'fatal' | 'other';

const INFRA_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
  'MongoWriteConcernError',
  'MongoOperationTimeoutError',
  // Ours: a MongoDB operation left unanswered past mongo.operationTimeoutMs (lib/timeout.ts).
  'OperationTimeoutError',
]);

/**
 * Server codes that mean "try again" (stepdowns, interruptions, shutdowns, cursor kills), and
 * 64, WriteConcernFailed: the write is on the primary but not yet on the members the write
 * concern asks for (wtimeout); the guards make writing it again harmless.
 */
export const RETRYABLE_CODES = new Set([
  6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 43, 237, 63, 150, 133, 234, 64,
]);

/** ChangeStreamHistoryLost, CappedPositionLost, ChangeStreamFatalError for a bad token, InvalidResumeToken. */
export const HISTORY_LOST_CODES = new Set([286, 136, 280, 260]);

/**
 * AuthenticationFailed, Unauthorized, change streams on a standalone (40573), not a replica set;
 * UnknownReplWriteConcern (79) and UnsatisfiableWriteConcern (100): the URI's write concern names
 * a tag set or a member count this deployment does not have — a configuration error, never healed
 * by retrying.
 */
export const FATAL_CODES = new Set([18, 13, 40573, 40324, 79, 100]);

/** Socket-level failures Node reports as plain errors (a cut while a request is being written). */
const SOCKET_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTCONN',
]);

/**
 * What a network failure says in its message, for wrappers that kept only the message: one of
 * the socket codes above, or the driver's own words for a closed or timed-out connection.
 */
const NETWORK_MESSAGE = new RegExp(
  [
    `\\b(${[...SOCKET_CODES].join('|')})\\b`,
    '^connection \\S+ to \\S+ (closed|timed out)$',
    '^Timed out (at|during|while)\\b',
    '^Server roundtrip time is greater than the time remaining$',
  ].join('|'),
);

/**
 * The driver wraps an error that ended a bulk write before the server answered in a
 * MongoBulkWriteError: the network error's class, code, cause and labels are lost, only its
 * message and own fields are copied (`beforeHandshake` exists only on MongoNetworkError).
 */
function wrapsNetworkError(e: MongoError): boolean {
  return (
    e.name === 'MongoBulkWriteError' && ('beforeHandshake' in e || NETWORK_MESSAGE.test(e.message))
  );
}

export function classifyError(e: unknown): ErrorClass {
  // An error we (or a module) wrapped keeps the original as its cause; a few levels suffice.
  let current = e;
  for (let depth = 0; depth < 5 && current !== undefined; depth++) {
    const kind = classifyOne(current);
    if (kind !== 'other') return kind;
    current = current instanceof Error ? (current as Error & { cause?: unknown }).cause : undefined;
  }
  return 'other';
}

function classifyOne(e: unknown): ErrorClass {
  const sys = typeof e === 'object' && e !== null && 'code' in e ? e.code : undefined;
  if (typeof sys === 'string' && SOCKET_CODES.has(sys)) return 'infrastructure';
  const code = mongoErrorCode(e);
  if (code !== undefined && HISTORY_LOST_CODES.has(code)) return 'historyLost';
  if (code !== undefined && FATAL_CODES.has(code)) return 'fatal';
  if (e instanceof MongoError) {
    // The server's word that resuming cannot work (a lost history is caught above by its code).
    if (e.hasErrorLabel('NonResumableChangeStreamError')) return 'fatal';
    if (INFRA_NAMES.has(e.name)) return 'infrastructure';
    if (e.hasErrorLabel('ResumableChangeStreamError') || e.hasErrorLabel('RetryableWriteError')) {
      return 'infrastructure';
    }
    if (code !== undefined && RETRYABLE_CODES.has(code)) return 'infrastructure';
    if (wrapsNetworkError(e)) return 'infrastructure';
  }
  if (e instanceof Error && INFRA_NAMES.has(e.name)) return 'infrastructure';
  // One operation of a bulk write refused by the server (writer/batchWriter.ts): per-op errors
  // carry no labels, so their code decides, as for any other server error.
  if (e instanceof Error && e.name === 'WriteRejectedError' && code !== undefined) {
    if (RETRYABLE_CODES.has(code)) return 'infrastructure';
  }
  // A write concern not satisfied (writer/sink.ts): the fatal codes are caught above.
  if (e instanceof Error && e.name === 'WriteConcernFailedError') return 'infrastructure';
  return 'other';
}

export function fatalMessage(e: unknown): string {
  const code = mongoErrorCode(e);
  if (code === 40573 || code === 40324) {
    return 'MongoDB refused to open a change stream: change streams need a replica set or sharded cluster (a standalone mongod cannot run them). Start mongod with --replSet and rs.initiate(), or point --mongo-uri at a replica set.';
  }
  if (code === 18 || code === 13) {
    return 'MongoDB refused the credentials or the permissions of this user: check the user and password in --mongo-uri and grant the privileges listed in docs/OPERATIONS.md "What projectord needs from a deployment" (read and changeStream on event_store, insert too when reactions run, readWrite on the daemon and read-model collections).';
  }
  if (code === 79 || code === 100) {
    return "MongoDB cannot satisfy the write concern projectord was given (the w= or wtimeoutMS of --mongo-uri names a tag set or more members than the replica set has): fix the URI's write concern.";
  }
  if (e instanceof MongoError && e.hasErrorLabel('NonResumableChangeStreamError')) {
    return 'MongoDB says the change stream on event_store cannot be resumed (NonResumableChangeStreamError).';
  }
  return 'MongoDB reported an error that waiting will not fix.';
}
