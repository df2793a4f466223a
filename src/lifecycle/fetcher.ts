import type { Db, Document } from 'mongodb';
import { eventStore } from '../events/eventStore.js';
import { idMatch, sameId } from '../events/ids.js';
import type { ProjectorEvent, RawEventDocument } from '../events/types.js';
import type { StreamFilter } from '../modules/types.js';
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
  stream(aggregateId: string, filter?: StreamFilter): Promise<ProjectorEvent[]>;
}

/** Field names a stream filter may match on: plain identifiers, never an operator or a path. */
const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The query of a filtered stream read. Values only ever as `$eq` / `$in` operands (invariant 7);
 * a field name that is not a plain identifier is the module's bug and throws, naming it. The
 * aggregate and string values are ids in canonical form, matched in either stored form
 * (events/ids.ts): a transferId stored as an ObjectId is found by its hex.
 */
export function streamQuery(aggregateId: string, filter: StreamFilter = {}): Document {
  const query: Document = { aggregateId: idMatch(aggregateId) };
  if (filter.types) query.eventType = { $in: [...filter.types].map(String) };
  for (const [field, value] of Object.entries(filter.data ?? {})) {
    if (!FIELD.test(field)) {
      throw new TypeError(
        `readStream filter field "${field}" is not a plain field name of eventData: use letters, digits and _ only.`,
      );
    }
    query[`eventData.${field}`] = typeof value === 'string' ? idMatch(value) : { $eq: value };
  }
  return query;
}

/**
 * streamQuery's test in memory, for in-process stand-ins of event_store (tests, benchmarks):
 * whether a stored event with this type and eventData passes `filter`.
 */
export function matchesStreamFilter(
  eventType: unknown,
  eventData: unknown,
  filter: StreamFilter = {},
): boolean {
  if (filter.types && !filter.types.includes(String(eventType))) return false;
  const data = (eventData ?? {}) as Record<string, unknown>;
  return Object.entries(filter.data ?? {}).every(
    ([field, value]) =>
      data[field] === value || (typeof value === 'string' && sameId(data[field], value)),
  );
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
    async stream(aggregateId, filter) {
      const raws = await eventStore(db)
        .find(streamQuery(aggregateId, filter))
        .sort({ version: 1 })
        .toArray();
      return raws
        .map(prepare)
        .filter((x) => x !== undefined)
        .map((x) => x.event);
    },
  };
}
