import { ObjectId, type Document } from 'mongodb';
import type { PipelineDeps } from '../../dispatch/pipeline.js';
import { prepareEvent } from '../../dispatch/prepare.js';
import type { UpcasterRegistry } from '../../dispatch/upcast.js';
import { storedEventDocument } from '../../events/eventStore.js';
import type { ProjectorEvent, RawEventDocument } from '../../events/types.js';
import { matchesStreamFilter } from '../../lifecycle/fetcher.js';
import { reactionAppendInput } from '../../reactions/append.js';
import type { ReactionServices } from '../context.js';
import { bsonCopy } from './memoryDb.js';

/**
 * event_store in memory, for the module test kit and the in-process benchmarks: what the
 * command side stored, and what reactions append through it — the same documents the real
 * appender writes (src/reactions/append.ts `reactionAppendInput`: deterministic id, causation),
 * at the aggregate's next version, an append whose id is stored already being a duplicate.
 * Gap repair and `readStream` read it back validated and upcast like the daemon's fetcher
 * (src/lifecycle/fetcher.ts), with the same stream filter. With `copies`, documents are stored
 * as a server stores them (a BSON round trip: an `undefined` field is gone or null, an ObjectId
 * stays one); the benchmarks store them as given.
 */
export interface MemoryEventStore {
  /** A command-side event: stored with an `_id`, returned as stored. */
  insert(raw: RawEventDocument): RawEventDocument;
  readonly append: ReactionServices['append'];
  readonly readStream: ReactionServices['readStream'];
  readonly fetch: PipelineDeps['fetch'];
  /** Events reactions appended and nobody has taken yet (the stream would deliver them next). */
  takeAppended(): RawEventDocument[];
  readonly stats: { appends: number; duplicates: number };
}

export interface MemoryEventStoreOptions {
  upcasters: UpcasterRegistry;
  now(): Date;
  copies?: boolean;
  /**
   * The version each aggregate already reaches beyond what is stored (a benchmark stores its
   * workload as the source hands it over, yet appends must follow all of it).
   */
  reservedVersions?: ReadonlyMap<string, number>;
  /** Event ids stored before long (a replayed recording): appending one is a duplicate. */
  knownEventIds?: ReadonlySet<string>;
}

export function createMemoryEventStore(o: MemoryEventStoreOptions): MemoryEventStore {
  const streams = new Map<string, RawEventDocument[]>();
  const byEventId = new Map<string, RawEventDocument>();
  let appended: RawEventDocument[] = [];
  const stats = { appends: 0, duplicates: 0 };
  const copy = o.copies ? bsonCopy : (d: Document) => d;

  function store(raw: RawEventDocument): RawEventDocument {
    const doc = copy({ _id: new ObjectId(), ...raw });
    const id = String(doc.aggregateId);
    const list = streams.get(id);
    if (list) list.push(doc);
    else streams.set(id, [doc]);
    if (typeof doc.eventId === 'string') byEventId.set(doc.eventId, doc);
    return doc;
  }

  const prepared = (raws: RawEventDocument[]) =>
    [...raws]
      .sort((a, b) => Number(a.version) - Number(b.version))
      .flatMap((raw) => {
        const v = prepareEvent(raw, o.upcasters);
        return v.ok ? [{ event: v.event, raw }] : [];
      });

  const currentVersion = (aggregateId: string) =>
    Math.max(
      o.reservedVersions?.get(aggregateId) ?? 0,
      ...(streams.get(aggregateId) ?? []).map((r) => Number(r.version) || 0),
    );

  return {
    insert: store,
    append(cause, module, e) {
      const input = reactionAppendInput(cause, module, e);
      const existing = byEventId.get(input.eventId);
      if (existing || o.knownEventIds?.has(input.eventId)) {
        stats.duplicates++;
        const version = Number(existing?.version ?? 0);
        return Promise.resolve({ ok: true, eventId: input.eventId, version, duplicate: true });
      }
      const version = currentVersion(e.aggregateId) + 1;
      const doc = store(storedEventDocument(input, version, o.now()));
      appended.push(doc);
      stats.appends++;
      return Promise.resolve({ ok: true, eventId: input.eventId, version, duplicate: false });
    },
    // Filtered before upcasting, as the server does (the stored documents are matched).
    readStream: (aggregateId, filter): Promise<ProjectorEvent[]> =>
      Promise.resolve(
        prepared(
          (streams.get(aggregateId) ?? []).filter((r) =>
            matchesStreamFilter(r.eventType, r.eventData, filter),
          ),
        ).map((x) => x.event),
      ),
    fetch: {
      versions: (aggregateId, from, to) =>
        Promise.resolve(
          prepared(
            (streams.get(aggregateId) ?? []).filter(
              (r) => Number(r.version) >= from && Number(r.version) <= to,
            ),
          ),
        ),
      bySourceId(id) {
        const key = String(id);
        for (const list of streams.values()) {
          const raw = list.find((r) => String(r._id) === key);
          if (raw) return Promise.resolve(prepared([raw])[0]);
        }
        return Promise.resolve(undefined);
      },
    },
    takeAppended() {
      const out = appended;
      appended = [];
      return out;
    },
    stats,
  };
}
