import type { Timestamp } from 'mongodb';
import { toError } from '../lib/errors.js';
import type { Logger } from '../observability/logger.js';
import type { ScanPosition } from '../source/scanPosition.js';
import type { CatchUpProgress, CheckpointStore } from './store.js';
import { createWatermark } from './watermark.js';

/**
 * One module's catch-up progress (issue 15, item 13): the scan registers every event it passes,
 * in scan order, handled by the module or not; handled ones finish when their lane is done with
 * them. Every `everyMs`, and on `flush()`, the newest scan position with nothing unfinished
 * before it is saved in the module's checkpoint (store.saveCatchUp) with the stream's start
 * time, so a crash, a deploy or an OOM kill resumes the scan there instead of at the first
 * event. `onSaved` reports the scanned count (metrics, status).
 */
export interface CatchUpTracker {
  /** One scanned event; returns the `done` to call when the module finished a handled one. */
  scanned(position: ScanPosition, handled: boolean): (() => void) | undefined;
  /** Saves the current low watermark now (if it moved). */
  flush(): Promise<void>;
  /** Stops saving; `save: false` once the module has its position (progress is history). */
  stop(opts?: { save?: boolean }): Promise<void>;
  readonly progress: CatchUpProgress;
}

export interface CatchUpTrackerOptions {
  module: string;
  moduleVersion: number;
  instanceId: string;
  store: CheckpointStore;
  startAt: Timestamp;
  estimate: number;
  /** Where a resumed scan stands (saved progress), if anywhere. */
  resumed?: { after: ScanPosition | undefined; scanned: number };
  everyMs: number;
  logger: Logger;
  onSaved?(progress: CatchUpProgress, scannedSinceLastSave: number): void;
}

export function createCatchUpTracker(o: CatchUpTrackerOptions): CatchUpTracker {
  const watermark = createWatermark<{ after: ScanPosition; scanned: number }>();
  let seq = 0;
  let scanned = o.resumed?.scanned ?? 0;
  let saved: CatchUpProgress = {
    startAt: o.startAt,
    after: o.resumed?.after,
    scanned,
    estimate: o.estimate,
  };
  let saving: Promise<void> = Promise.resolve();
  const timer = setInterval(() => void self.flush(), o.everyMs);
  timer.unref();

  async function save(): Promise<void> {
    const low = watermark.position();
    if (!low || low.scanned === saved.scanned) return;
    const next: CatchUpProgress = { ...saved, after: low.after, scanned: low.scanned };
    const res = await o.store.saveCatchUp(o.module, next, o.moduleVersion, o.instanceId);
    if (!res.ok) return;
    const delta = next.scanned - saved.scanned;
    saved = next;
    o.onSaved?.(next, delta);
  }

  const self: CatchUpTracker = {
    scanned(position, handled) {
      const s = ++seq;
      scanned++;
      watermark.register(s, { after: position, scanned }, !handled);
      return handled ? () => watermark.finish(s) : undefined;
    },
    flush() {
      saving = saving.then(save).catch((e: unknown) => {
        o.logger.warn(
          { module: o.module, err: toError(e) },
          'catch-up progress not saved; will retry',
        );
      });
      return saving;
    },
    async stop(opts) {
      clearInterval(timer);
      if (opts?.save === false) await saving;
      else await self.flush();
    },
    get progress() {
      return saved;
    },
  };
  return self;
}
