import { ObjectId, type Document } from 'mongodb';

/**
 * Where a scan of event_store stands: after which event it resumes. The scan has two phases so
 * that every resume filter compares values of one BSON type with the order of the sort (a `$gt`
 * on a string matches strings only: a resume by `aggregateId > "x"` used to skip every document
 * whose aggregateId is an ObjectId, a number or missing — issue 15, item 11):
 *
 *  - `ordered`: events with a string aggregateId and a numeric version, in (aggregateId,
 *    version) order — served by the unique aggregate_version index;
 *  - `objectIds`: the same for events whose aggregateId is an ObjectId (the seed article's
 *    command side may write account ids so; events/ids.ts): valid events too, in their own
 *    (aggregateId, version) order on the same index;
 *  - `rest`: everything else (invalid envelopes the dispatcher dead-letters), in `_id` order,
 *    resumed by counting: they are few, and one delivered twice is harmless while one skipped
 *    would be lost.
 *
 * Stored in the module's checkpoint as the catch-up goes (checkpoint/store.ts `catchUp.after`).
 */
export type ScanPosition =
  | { phase: 'ordered'; aggregateId: string; version: number }
  | { phase: 'objectIds'; aggregateId: ObjectId; version: number }
  | { phase: 'rest'; delivered: number };

export const SCAN_PHASES = ['ordered', 'objectIds', 'rest'] as const;

const ORDERED: Document = { aggregateId: { $type: 'string' }, version: { $type: 'number' } };
const OBJECT_IDS: Document = { aggregateId: { $type: 'objectId' }, version: { $type: 'number' } };

/** The query of one phase resumed after `after` (undefined: from the phase's first event). */
export function scanQuery(phase: ScanPosition['phase'], after: ScanPosition | undefined): Document {
  if (phase === 'rest') return { $nor: [ORDERED, OBJECT_IDS] };
  const base = phase === 'ordered' ? ORDERED : OBJECT_IDS;
  if (after?.phase !== phase) return base;
  return {
    ...base,
    $or: [
      { aggregateId: { $gt: after.aggregateId } },
      { aggregateId: { $eq: after.aggregateId }, version: { $gt: after.version } },
    ],
  };
}

/** The position just after `doc` in the phase that delivered it. */
export function positionAfter(
  doc: Document,
  phase: ScanPosition['phase'],
  before: ScanPosition | undefined,
): ScanPosition {
  if (phase === 'ordered') {
    return { phase, aggregateId: doc.aggregateId as string, version: doc.version as number };
  }
  if (phase === 'objectIds') {
    return { phase, aggregateId: doc.aggregateId as ObjectId, version: doc.version as number };
  }
  return { phase, delivered: (before?.phase === 'rest' ? before.delivered : 0) + 1 };
}

/** Order of two scan positions (which of two modules' saved progress is further back). */
export function compareScanPositions(a: ScanPosition, b: ScanPosition): number {
  if (a.phase !== b.phase) return SCAN_PHASES.indexOf(a.phase) - SCAN_PHASES.indexOf(b.phase);
  if (a.phase === 'rest' && b.phase === 'rest') return a.delivered - b.delivered;
  if (a.phase !== 'rest' && b.phase !== 'rest') {
    const byId = Buffer.compare(keyOf(a.aggregateId), keyOf(b.aggregateId));
    return byId !== 0 ? byId : a.version - b.version;
  }
  return 0;
}

/**
 * An aggregateId's bytes as the server sorts them within its phase: a string's UTF-8 (a JS `<`
 * compares UTF-16 units, which orders some non-BMP characters differently), an ObjectId's 12.
 */
const keyOf = (id: string | ObjectId) =>
  typeof id === 'string' ? Buffer.from(id, 'utf8') : Buffer.from(id.id);

function orderedPositionOf(doc: Document): ScanPosition | undefined {
  if (typeof doc.version !== 'number') return undefined;
  const version = doc.version;
  const id: unknown = doc.aggregateId;
  if (typeof id === 'string') return { phase: 'ordered', aggregateId: id, version };
  if (id instanceof ObjectId) return { phase: 'objectIds', aggregateId: id, version };
  return undefined;
}

/** Whether a document is valid for the ordered phase and sorts at or before `at`. */
export function scannedBy(doc: Document, at: ScanPosition | undefined): boolean {
  if (!at) return false;
  if (at.phase === 'rest') return true;
  const position = orderedPositionOf(doc);
  return position !== undefined && compareScanPositions(position, at) <= 0;
}

/** A stored scan position, read defensively (a wrong shape restarts the scan). */
export function scanPositionFromStored(v: unknown): ScanPosition | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.phase === 'ordered' && typeof o.aggregateId === 'string' && typeof o.version === 'number') {
    return { phase: 'ordered', aggregateId: o.aggregateId, version: o.version };
  }
  if (
    o.phase === 'objectIds' &&
    o.aggregateId instanceof ObjectId &&
    typeof o.version === 'number'
  ) {
    return { phase: 'objectIds', aggregateId: o.aggregateId, version: o.version };
  }
  if (o.phase === 'rest' && typeof o.delivered === 'number' && o.delivered >= 0) {
    return { phase: 'rest', delivered: o.delivered };
  }
  return undefined;
}
