import type { Db } from 'mongodb';
import { eventStore } from '../events/eventStore.js';
import type { ProjectorEvent, RawEventDocument } from '../events/types.js';
import type { UpcasterRegistry } from '../dispatch/upcast.js';
import { prepareEvent } from '../dispatch/prepare.js';
import { readVersions } from '../source/catchUp.js';

/**
 * Reads events back from event_store for gap repair, dead-letter retries and reactions'
 * readStream, validated and upcast like the stream's. Invalid documents are left out (they
 * were dead-lettered when they came through the stream).
 */
export interface EventFetcher {
  versions(
    aggregateId: string,
    from: number,
    to: number,
  ): Promise<{ event: ProjectorEvent; raw: RawEventDocument }[]>;
  bySourceId(id: unknown): Promise<{ event: ProjectorEvent; raw: RawEventDocument } | undefined>;
  stream(aggregateId: string): Promise<ProjectorEvent[]>;
}

export function createEventFetcher(db: Db, upcasters: UpcasterRegistry): EventFetcher {
  const prepare = (raw: RawEventDocument) => {
    const v = prepareEvent(raw, upcasters);
    return v.ok ? { event: v.event, raw } : undefined;
  };
  return {
    async versions(aggregateId, from, to) {
      const raws = await readVersions(db, aggregateId, from, to);
      return raws.map(prepare).filter((x) => x !== undefined);
    },
    async bySourceId(id) {
      const raw = await eventStore(db).findOne({ _id: { $eq: id as never } });
      return raw ? prepare(raw) : undefined;
    },
    async stream(aggregateId) {
      const raws = await readVersions(db, aggregateId, 1, Number.MAX_SAFE_INTEGER);
      return raws
        .map(prepare)
        .filter((x) => x !== undefined)
        .map((x) => x.event);
    },
  };
}
