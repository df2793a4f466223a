/**
 * The one place that owns SIGINT/SIGTERM. The first signal asks for a graceful stop; a second
 * one exits at once (safe: checkpoints only cover finished work, effects are idempotent).
 * Returns a function that removes the listeners.
 */
export function onShutdownSignal(
  graceful: (signal: NodeJS.Signals) => void,
  opts: { forceExitCode?: number } = {},
): () => void {
  let received = 0;
  const handler = (signal: NodeJS.Signals) => {
    received += 1;
    if (received === 1) {
      graceful(signal);
      return;
    }
    process.stderr.write(`projectord: second ${signal}, exiting now\n`);
    process.exit(opts.forceExitCode ?? 130);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
