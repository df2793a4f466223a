/**
 * The last applied version per aggregate, for duplicate and gap detection (kept by the key
 * table, keyTable.ts, beside each key's queue). Bounded: forgetting an aggregate only means its
 * next event is applied without the check (the guards still hold).
 */
export interface VersionMemory {
  get(aggregateId: string): number | undefined;
  remember(aggregateId: string, version: number): void;
  /** Moves a known aggregate forward (never back); an unknown one stays unknown. */
  advance(aggregateId: string, version: number): void;
}
