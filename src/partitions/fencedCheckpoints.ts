import type { CheckpointStore, SaveResult } from '../checkpoint/store.js';

/**
 * A slot's checkpoint saves fenced by its lease, like its writes (the batch writer's
 * `canWrite`): once the lease is gone — taken over, or renewed too late to count — the next
 * owner's position is the one that counts, even if this process finished more before it noticed.
 * Positions and catch-up progress are refused as `fenced`; reads, modes and resets pass.
 */
export function fencedCheckpoints(
  store: CheckpointStore,
  canWrite: ((slot: string) => boolean) | undefined,
): CheckpointStore {
  if (!canWrite) return store;
  const fenced: Promise<SaveResult> = Promise.resolve({ ok: false, reason: 'fenced' });
  return {
    ...store,
    save: (slot, update) => (canWrite(slot) ? store.save(slot, update) : fenced),
    saveCatchUp: (slot, progress, version, instanceId) =>
      canWrite(slot) ? store.saveCatchUp(slot, progress, version, instanceId) : fenced,
  };
}
