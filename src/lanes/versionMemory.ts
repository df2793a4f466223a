/**
 * The last applied version per aggregate, for duplicate and gap detection. Bounded: forgetting
 * an aggregate only means its next event is applied without the check (the guards still hold).
 * The oldest remembered aggregate is forgotten first (insertion order: a Map set keeps it, so
 * the hot path is one lookup and one set, no re-insertion).
 */
export interface VersionMemory {
  get(aggregateId: string): number | undefined;
  remember(aggregateId: string, version: number): void;
  /** Moves a known aggregate forward (never back); an unknown one stays unknown. */
  advance(aggregateId: string, version: number): void;
}

export const MAX_REMEMBERED_AGGREGATES = 200_000;

export function createVersionMemory(limit = MAX_REMEMBERED_AGGREGATES): VersionMemory {
  const versions = new Map<string, number>();
  const remember = (aggregateId: string, version: number) => {
    if (versions.size >= limit && !versions.has(aggregateId)) {
      const oldest = versions.keys().next();
      if (!oldest.done) versions.delete(oldest.value);
    }
    versions.set(aggregateId, version);
  };
  return {
    get: (aggregateId) => versions.get(aggregateId),
    remember,
    advance(aggregateId, version) {
      const known = versions.get(aggregateId);
      if (known !== undefined && known < version) remember(aggregateId, version);
    },
  };
}
