import type { Position } from '../checkpoint/position.js';
import type { ProjectorEvent, RawEventDocument } from '../events/types.js';
import type { DeadLetterStore } from '../lanes/deadLetters.js';
import type { ModulePipeline } from './pipeline.js';
import type { PhantomGuard } from './phantoms.js';
import { prepareEvent } from './prepare.js';
import { idString } from './validate.js';
import type { UpcasterRegistry } from './upcast.js';

/**
 * Routes one raw event to the module pipelines that handle its type: validate the envelope,
 * upcast, register it with each module's checkpointer (stream events only), push it into the
 * lane (which may wait: backpressure). An invalid envelope or a failing upcaster dead-letters the
 * event for each module that would have handled it, naming the field.
 */
export interface Dispatcher {
  dispatch(
    raw: RawEventDocument,
    targets: readonly ModulePipeline[],
    stream?: { seq: number; position: Position },
  ): Promise<void>;
}

export function createDispatcher(deps: {
  upcasters: UpcasterRegistry;
  deadLetters: DeadLetterStore;
  onIgnored?(eventType: string): void;
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
    for (const p of targets) {
      if (typeof type === 'string' && !p.handles.has(type)) continue;
      await deps.deadLetters.invalid({
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
    }
  }

  return {
    async dispatch(raw, targets, stream) {
      const v = prepareEvent(raw, deps.upcasters);
      const event = v.ok ? v.event : undefined;
      const problem = v.ok ? undefined : { field: v.field, message: v.message };
      if (!event) {
        // Dead letters first: once registered, the checkpoint may pass the event, so a crash or
        // a failed write before the dead letter is durable would lose it for good.
        await invalid(raw, targets, problem?.field ?? 'event', problem?.message ?? 'invalid event');
        if (stream)
          for (const p of targets)
            p.checkpointer.register(stream.seq, stream.position, null, false);
        return;
      }
      if (stream && deps.phantoms && !(await deps.phantoms.isStored(event, raw._id))) {
        deps.onPhantom?.(event);
        for (const p of targets) p.checkpointer.register(stream.seq, stream.position, null, false);
        return;
      }
      let handledBy = 0;
      for (const p of targets) {
        const handled = p.handles.has(event.eventType) && (!stream || p.wants(stream.position));
        if (stream)
          p.checkpointer.register(
            stream.seq,
            stream.position,
            event.storedAt ?? event.eventTimestamp,
            handled,
          );
        if (!handled) {
          p.lane.observe(event);
          continue;
        }
        handledBy++;
        const seq = stream?.seq;
        await p.lane.push({
          event,
          raw,
          ...(seq === undefined ? {} : { done: () => p.checkpointer.finish(seq) }),
        });
      }
      if (handledBy === 0) deps.onIgnored?.(event.eventType);
    },
  };
}
