import type { Position } from '../checkpoint/position.js';
import type { ProjectorEvent, RawEventDocument } from '../events/types.js';
import type { DeadLetterStore } from '../lanes/deadLetters.js';
import type { Logger } from '../observability/logger.js';
import type { ModulePipeline } from './pipeline.js';
import type { PhantomGuard } from './phantoms.js';
import { prepareEvent } from './prepare.js';
import { idString } from './validate.js';
import type { UpcasterRegistry } from './upcast.js';

/**
 * Routes one raw event to the module pipelines that handle its type and own its ordering key's
 * partition (partitions/slots.ts): validate the envelope, upcast, register it with each module's
 * checkpointer (stream events) or catch-up tracker (scan events), push it into the lane (which
 * may wait: backpressure). An invalid envelope or a failing upcaster dead-letters the event for
 * each module that would have handled it, naming the field, and says so at warn level
 * (eventId, module, reason): such an event reaches no handler, and an operator must see it.
 */
export interface Dispatcher {
  dispatch(
    raw: RawEventDocument,
    targets: readonly ModulePipeline[],
    stream?: { seq: number; position: Position },
    scan?: ScanTracking,
  ): Promise<void> | undefined;
}

/** A catch-up scan's bookkeeping of one event (checkpoint/catchUpProgress.ts). */
export interface ScanTracking {
  /** Registers the event with the module's tracker; the `done` of a handled one. */
  track(p: ModulePipeline, handled: boolean): (() => void) | undefined;
  /** Told of each pipeline the event was pushed to (catch-up counts with it). */
  pushed?(p: ModulePipeline): void;
}

type Stream = { seq: number; position: Position } | undefined;
type Scan = ScanTracking | undefined;

export function createDispatcher(deps: {
  upcasters: UpcasterRegistry;
  deadLetters: DeadLetterStore;
  logger?: Logger;
  onIgnored?(eventType: string): void;
  /** An event dead-lettered as invalid for `module` (counted like a dead-lettered outcome). */
  onInvalid?(module: string, eventType: string): void;
  /** Live-stream events only: drops change events of inserts that were never stored. */
  phantoms?: PhantomGuard;
  onPhantom?(event: ProjectorEvent): void;
}): Dispatcher {
  async function invalid(
    raw: RawEventDocument,
    targets: readonly ModulePipeline[],
    field: string,
    message: string,
  ): Promise<void> {
    const type = raw.eventType;
    // The event's own id when it has one (string or ObjectId), else its storage _id.
    const eventId = idString(raw.eventId) ?? idString(raw._id) ?? String(raw._id);
    // Once per module, not per partition: an invalid envelope has no key to route by.
    const seen = new Set<string>();
    for (const p of targets) {
      if (typeof type === 'string' && !p.handles.has(type)) continue;
      if (seen.has(p.module.name)) continue;
      seen.add(p.module.name);
      const recorded = await deps.deadLetters.invalid({
        module: p.module.name,
        eventId,
        aggregateId: raw.aggregateId,
        eventType: raw.eventType,
        version: raw.version,
        sourceId: raw._id,
        error: { message, field },
        attempts: 0,
        event: raw,
      });
      if (!recorded) continue; // an operator already skipped or retried it
      deps.logger?.warn(
        { eventId, module: p.module.name, reason: message, field, eventType: type },
        'invalid event dead-lettered: it reaches no handler until fixed, retried or skipped (projectord dlq)',
      );
      deps.onInvalid?.(p.module.name, typeof type === 'string' ? type : 'unknown');
    }
  }

  /**
   * Routes a valid event to `targets` from index `from` on, synchronously while every lane has
   * room (dispatch returns undefined); when one is full the rest follows once it has room (the
   * source waits: backpressure).
   */
  function route(
    event: ProjectorEvent,
    raw: RawEventDocument,
    targets: readonly ModulePipeline[],
    stream: Stream,
    scan: Scan,
    from: number,
    wantedBefore: number,
  ): Promise<void> | undefined {
    // Ignored: no module here wants it at all (one partition's owner elsewhere is not "ignored").
    let wantedBy = wantedBefore;
    for (let i = from; i < targets.length; i++) {
      const p = targets[i]!;
      // A stream event at or before where the slot joined is none of its business: not even
      // registered, so its watermark never goes back behind its saved position.
      if (stream && !p.wants(stream.position)) continue;
      const wanted = p.handles.has(event.eventType);
      if (wanted) wantedBy++;
      // The key is asked only of an event the module handles (a custom orderingKey may not
      // know other types); another partition's key is none of this slot's business.
      const handled = wanted && p.owns(event);
      if (stream)
        p.checkpointer.register(
          stream.seq,
          stream.position,
          event.storedAt ?? event.eventTimestamp,
          handled,
        );
      const done = scan?.track(p, handled);
      if (!handled) {
        if (!wanted) p.lane.observe(event);
        continue;
      }
      // The sequence number, not a closure: the lane tells the checkpointer (onFinished). A
      // scanned event's tracker is told by `done` (catch-up only, not the hot path).
      const wait = p.lane.push(
        stream ? { event, raw, seq: stream.seq } : done ? { event, raw, done } : { event, raw },
      );
      scan?.pushed?.(p);
      if (wait) {
        const n = wantedBy;
        return wait.then(() => route(event, raw, targets, stream, scan, i + 1, n));
      }
    }
    if (wantedBy === 0) deps.onIgnored?.(event.eventType);
    return undefined;
  }

  async function unconfirmed(
    event: ProjectorEvent,
    raw: RawEventDocument,
    targets: readonly ModulePipeline[],
    stream: { seq: number; position: Position },
    phantoms: PhantomGuard,
    scan: Scan,
  ): Promise<void> {
    if (!(await phantoms.isStored(event, raw._id))) {
      deps.onPhantom?.(event);
      for (const p of targets) p.checkpointer.register(stream.seq, stream.position, null, false);
      return;
    }
    await route(event, raw, targets, stream, scan, 0, 0);
  }

  async function rejected(
    raw: RawEventDocument,
    targets: readonly ModulePipeline[],
    stream: Stream,
    problem: { field: string; message: string },
    scan: Scan,
  ): Promise<void> {
    // Dead letters first: once registered, the checkpoint may pass the event, so a crash or
    // a failed write before the dead letter is durable would lose it for good.
    await invalid(raw, targets, problem.field, problem.message);
    if (stream)
      for (const p of targets) p.checkpointer.register(stream.seq, stream.position, null, false);
    for (const p of targets) scan?.track(p, false);
  }

  return {
    dispatch(raw, targets, stream, scan) {
      const v = prepareEvent(raw, deps.upcasters);
      if (!v.ok) return rejected(raw, targets, stream, v, scan);
      if (stream && deps.phantoms)
        return unconfirmed(v.event, raw, targets, stream, deps.phantoms, scan);
      return route(v.event, raw, targets, stream, scan, 0, 0);
    },
  };
}
