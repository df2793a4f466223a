import type { ModulePipeline } from '../dispatch/pipeline.js';
import { toError } from '../lib/errors.js';
import { within } from '../lib/timeout.js';
import type { DaemonContext } from './context.js';

/** Waits for in-flight work (bounded), then writes and checkpoints everything finished. */
export async function drainPipelines(
  pipelines: readonly ModulePipeline[],
  c: Pick<DaemonContext, 'config' | 'logger' | 'writer'>,
): Promise<void> {
  const { config, logger } = c;
  const idle = Promise.all(pipelines.map((p) => p.lane.idle().catch(() => undefined)));
  await within(idle, config.shutdown.timeoutMs, 'draining the lanes', 'shutdown.timeoutMs').catch(
    () => logger.warn('shutdown timeout: unfinished events will be re-read on restart'),
  );
  // Bounded too: a handler stuck past every timeout must not hold the stop (invariant 8); its
  // event is unfinished, so the checkpoint stays before it and a restart reads it again.
  await within(
    Promise.all(pipelines.map((p) => p.lane.stop())),
    config.shutdown.timeoutMs,
    'stopping the lanes',
    'shutdown.timeoutMs',
  ).catch((e: unknown) =>
    logger.warn(
      { err: toError(e) },
      'lanes did not stop in time; their unfinished events will be re-read',
    ),
  );
  await c.writer
    .flush()
    .catch((e: unknown) => logger.warn({ err: toError(e) }, 'final flush failed'));
  for (const p of pipelines) {
    await p.checkpointer
      .stop()
      .catch((e: unknown) => logger.warn({ err: toError(e) }, 'final checkpoint failed'));
  }
}
