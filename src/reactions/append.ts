import { createHash } from 'node:crypto';
import type { Db } from 'mongodb';
import { appendEvent, eventStore, type AppendInput } from '../events/eventStore.js';
import type { EventMetadata, ProjectorEvent } from '../events/types.js';
import { ProjectordError } from '../lib/errors.js';
import type { AppendResult, NewEvent } from '../modules/types.js';

/**
 * Events that reactions append (DOMAIN.md: credits, reversals, detections, reviews, freezes).
 * The eventId is derived from the module and the append's idempotencyKey, so a step that runs
 * again — a retried handler, a redelivered event, a deadline fired twice after a crash — finds
 * its own event and reports `duplicate` instead of appending a second one (DESIGN.md
 * invariants 2 and 9). The version comes from the store's optimistic concurrency: appendEvent
 * re-reads and retries on a (aggregateId, version) collision; when other writers keep winning
 * the result is `{ ok: false }` and the caller decides (a saga retries, a handler throws).
 */
export const REACTION_EVENT_ID_PREFIX = 'rx-';

export interface EventAppender {
  /** `cause` is the event being handled (none in a deadline): it gives causation and correlation. */
  append(cause: ProjectorEvent | undefined, moduleName: string, e: NewEvent): Promise<AppendResult>;
}

export interface EventAppenderDeps {
  db: Db;
  now?: () => Date;
  /** Version collisions retried per append before giving up with `{ ok: false }`. */
  maxRetries?: number;
}

/** `rx-` + 40 hex digits of sha256(module, key): stable across processes and releases. */
export function reactionEventId(moduleName: string, idempotencyKey: string): string {
  const digest = createHash('sha256').update(`${moduleName}\n${idempotencyKey}`).digest('hex');
  return REACTION_EVENT_ID_PREFIX + digest.slice(0, 40);
}

function invalid(moduleName: string, what: string): ProjectordError {
  return new ProjectordError(
    'APPEND_INVALID',
    `Module ${moduleName} tried to append an event with ${what}: fix the module.`,
  );
}

function check(moduleName: string, e: NewEvent): void {
  for (const key of ['aggregateId', 'aggregateType', 'eventType', 'idempotencyKey'] as const) {
    const v: unknown = e[key];
    if (typeof v !== 'string' || v.length === 0) throw invalid(moduleName, `no ${key}`);
  }
  const data: unknown = e.eventData;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw invalid(moduleName, 'an eventData that is not an object');
  }
}

function metadataFor(
  cause: ProjectorEvent | undefined,
  moduleName: string,
  e: NewEvent,
): EventMetadata {
  const meta: EventMetadata = {
    producedBy: `projectord:${moduleName}`,
    idempotencyKey: e.idempotencyKey,
  };
  const correlationId = e.correlationId ?? cause?.eventMetadata.correlationId;
  if (correlationId !== undefined) meta.correlationId = correlationId;
  const causationId = e.causationId ?? cause?.eventId;
  if (causationId !== undefined) meta.causationId = causationId;
  return meta;
}

/**
 * What a reaction's append stores (checked: an invalid one throws, naming the module): the
 * deterministic id, and metadata linking it to its cause. The test kit's in-memory event store
 * appends the same documents.
 */
export function reactionAppendInput(
  cause: ProjectorEvent | undefined,
  moduleName: string,
  e: NewEvent,
): AppendInput & { eventId: string } {
  check(moduleName, e);
  const eventId = reactionEventId(moduleName, e.idempotencyKey);
  return {
    aggregateId: e.aggregateId,
    aggregateType: e.aggregateType,
    eventType: e.eventType,
    ...(e.eventVersion === undefined ? {} : { eventVersion: e.eventVersion }),
    eventData: e.eventData,
    eventMetadata: metadataFor(cause, moduleName, e),
    eventId,
    commandId: eventId,
  };
}

export function createEventAppender(deps: EventAppenderDeps): EventAppender {
  const { db } = deps;
  const now = deps.now ?? (() => new Date());
  return {
    async append(cause, moduleName, e) {
      const input = reactionAppendInput(cause, moduleName, e);
      const { eventId } = input;
      // Checked first so idempotency does not hang on the unique eventId index alone.
      const existing = await eventStore(db).findOne(
        { eventId: { $eq: eventId } },
        { projection: { version: 1 } },
      );
      if (existing) {
        return { ok: true, eventId, version: Number(existing.version), duplicate: true };
      }
      try {
        const appended = await appendEvent(db, input, {
          now,
          ...(deps.maxRetries === undefined ? {} : { maxRetries: deps.maxRetries }),
        });
        return { ok: true, ...appended };
      } catch (err) {
        if (err instanceof ProjectordError && err.code === 'APPEND_CONTENDED') {
          return { ok: false, reason: err.message };
        }
        throw err;
      }
    },
  };
}
