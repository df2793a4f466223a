import type { Command } from 'commander';
import { Option } from 'commander';
import { runDaemon } from '../../lifecycle/runDaemon.js';
import { parsePort } from '../parse.js';
import { commandContext } from '../context.js';

/** `projectord run`: the daemon (sidecar). Exits 0 after a graceful stop, 1 when it failed. */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the daemon: follow event_store and keep every module up to date')
    .addOption(new Option('--metrics-host <host>', 'bind address of /metrics, /healthz, /readyz'))
    .addOption(
      new Option(
        '--metrics-port <port>',
        'port of /metrics, /healthz, /readyz (0 = any free port)',
      ).argParser((v) => parsePort(v, '--metrics-port')),
    )
    .addOption(new Option('--instance-id <id>', 'name of this instance in leases and status'))
    .action(
      async (
        opts: { metricsHost?: string; metricsPort?: number; instanceId?: string },
        cmd: Command,
      ) => {
        const { config, logger } = commandContext(cmd, {
          metrics: { host: opts.metricsHost, port: opts.metricsPort },
          instanceId: opts.instanceId,
        });
        const running = await runDaemon({ config, logger, handleSignals: true });
        await running.finished;
        logger.info('stopped');
      },
    );
}
