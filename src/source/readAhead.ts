/**
 * Reads a source up to `max` items ahead of its consumer, in order. The daemon uses it so the
 * storage ids of the events about to be dispatched are known early: on a server whose every
 * change event is confirmed in event_store, they are confirmed in one query per read-ahead
 * instead of one round trip per event (dispatch/phantoms.ts `warm`). Backpressure is kept: the
 * pump stops pulling while `max` items wait. An error of the source reaches the consumer after
 * the items read before it. When the consumer stops early, the source is closed (its `return`)
 * once its pending read settles.
 */
export async function* readAhead<T>(
  source: AsyncGenerator<T>,
  max: number,
  /** Called when an item is handed out, with the items still waiting behind it. */
  onTake?: (item: T, waiting: readonly T[]) => void,
): AsyncGenerator<T> {
  const buffer: T[] = [];
  let finished = false;
  let stopped = false;
  let failure: { error: unknown } | undefined;
  let itemReady: (() => void) | undefined;
  let roomReady: (() => void) | undefined;
  const signalItem = () => {
    itemReady?.();
    itemReady = undefined;
  };
  const pump = (async () => {
    try {
      while (!stopped) {
        if (buffer.length >= max) {
          await new Promise<void>((resolve) => (roomReady = resolve));
          continue;
        }
        const next = await source.next();
        if (next.done) break;
        buffer.push(next.value);
        signalItem();
      }
    } catch (error) {
      failure = { error };
    } finally {
      finished = true;
      signalItem();
    }
  })();
  try {
    for (;;) {
      if (buffer.length > 0) {
        const item = buffer.shift() as T;
        roomReady?.();
        roomReady = undefined;
        onTake?.(item, buffer);
        yield item;
        continue;
      }
      if (finished) {
        if (failure) throw failure.error;
        return;
      }
      await new Promise<void>((resolve) => (itemReady = resolve));
    }
  } finally {
    stopped = true;
    roomReady?.();
    await pump;
    await source.return(undefined);
  }
}
