import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { packageRoot } from '../../src/lib/paths.js';
import { runDaemon, type RunningDaemon } from '../../src/lifecycle/runDaemon.js';
import { silentLogger } from '../../src/observability/logger.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';
import { mongoTarget, proxiedMongoUri, startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';

/**
 * /readyz during a MongoDB outage after start-up (docs/OPERATIONS.md: ready needs MongoDB
 * reachable). The daemon (runDaemon in this process) reaches MongoDB only through a TCP proxy;
 * the proxy then drops every connection and refuses new ones. With nothing pending the module
 * stays 'live' in memory, so only the connection watch can turn /readyz to 503, and it must
 * name MongoDB; /metrics keeps answering; once the proxy forwards again, /readyz is 200 again.
 */
interface Readiness {
  status: number;
  ready: boolean;
  modules: { name: string; ready: boolean; reason: string | null }[];
  reason?: string;
}

async function readyz(port: number): Promise<Readiness> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, {
    signal: AbortSignal.timeout(15_000),
  });
  const body = (await res.json()) as Omit<Readiness, 'status'>;
  return { status: res.status, ...body };
}

/** 200 with the module running here and ready (a standby that owns nothing is ready too). */
const runningAndReady = (r: Readiness): boolean =>
  r.status === 200 && r.modules.length === 1 && r.modules.every((m) => m.ready);

describe('/readyz while MongoDB is unreachable', () => {
  let running: RunningDaemon | undefined;
  let proxy: TcpProxy | undefined;

  afterEach(async () => {
    proxy?.resume();
    await running?.stop();
    await proxy?.close();
    running = undefined;
    proxy = undefined;
  });

  it('answers 503 naming MongoDB during the outage, keeps /metrics up, and recovers', async () => {
    const { dbName } = await useTestDb('readyz');
    proxy = await startTcpProxy(mongoTarget(mongoUri()));
    const config = loadConfig({
      env: {},
      flags: {
        mongoUri: proxiedMongoUri(mongoUri(), proxy),
        db: dbName,
        modules: { paths: [join(packageRoot(), 'src', 'modules', 'testing', 'eventCounter.ts')] },
        metrics: { host: '127.0.0.1', port: 0 },
        leases: { ttlMs: 3000, heartbeatMs: 500 },
        shutdown: { timeoutMs: 10_000 },
        mongo: { operationTimeoutMs: 5000 },
      },
    });
    running = await runDaemon({ config, logger: silentLogger() });
    const port = running.metricsPort;

    await waitFor(async () => runningAndReady(await readyz(port)), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: '/readyz 200 with the module live after start-up',
    });

    proxy.pause('refuse');
    proxy.cutAll();
    const down = await waitFor(
      async () => {
        const r = await readyz(port);
        return r.status === 503 && /MongoDB/.test(r.reason ?? '') ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: '/readyz 503 during the outage' },
    );
    expect(down.ready).toBe(false);
    expect(down.reason).toMatch(/MongoDB unreachable/);

    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(15_000),
    });
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('projectord_');
    // Still not ready a moment later: the outage is reported as long as it lasts.
    expect((await readyz(port)).status).toBe(503);

    proxy.resume();
    const back = await waitFor(
      async () => {
        const r = await readyz(port);
        return runningAndReady(r) ? r : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 200,
        what: '/readyz 200 with the module after MongoDB is back',
      },
    );
    expect(back.ready).toBe(true);
    expect(back.reason).toBeUndefined();
  });
});
