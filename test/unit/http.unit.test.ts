import { afterEach, describe, expect, it } from 'vitest';
import { ProjectordError } from '../../src/lib/errors.js';
import { createEventLoopMonitor } from '../../src/observability/eventLoop.js';
import type { HealthReport } from '../../src/observability/health.js';
import { startHttpServer, type HttpServer } from '../../src/observability/http.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';

const servers: HttpServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(
  health: () => Promise<HealthReport>,
  extra: { maxEventLoopDelayMs?: number; healthTimeoutMs?: number; delayMs?: number } = {},
) {
  const metrics = createMetrics();
  const fixedDelay = extra.delayMs;
  const server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    metrics,
    health,
    logger: silentLogger(),
    maxEventLoopDelayMs: extra.maxEventLoopDelayMs,
    healthTimeoutMs: extra.healthTimeoutMs,
    eventLoop:
      fixedDelay === undefined
        ? undefined
        : { maxDelayMs: () => fixedDelay, samples: () => 1, stop: () => undefined },
  });
  servers.push(server);
  const get = async (path: string, init?: RequestInit) => {
    const res = await fetch(`http://127.0.0.1:${server.port}${path}`, init);
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  return { server, metrics, get };
}

const healthy = (): Promise<HealthReport> =>
  Promise.resolve({ modules: [{ name: 'account-summary', ready: true, reason: null }] });

describe('startHttpServer', () => {
  it('binds an ephemeral port and serves Prometheus text on /metrics', async () => {
    const { server, metrics, get } = await start(healthy);
    expect(server.port).toBeGreaterThan(0);
    metrics.queueDepth.set({ module: 'account-summary' }, 4);
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain/);
    expect(res.text).toContain('projectord_queue_depth{module="account-summary"} 4');
  });

  it('/healthz answers 200 while the event loop is responsive', async () => {
    const { get } = await start(healthy);
    const res = await get('/healthz');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ ok: true });
  });

  it('/healthz answers 503 when the event loop was blocked beyond the bound', async () => {
    const { get } = await start(healthy, { delayMs: 2500, maxEventLoopDelayMs: 2000 });
    const res = await get('/healthz');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toMatchObject({
      ok: false,
      reason: 'event loop blocked for 2500 ms (limit 2000 ms)',
    });
  });

  it('/readyz is 200 with the module list when every module is ready', async () => {
    const { get } = await start(healthy);
    const res = await get('/readyz');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({
      ready: true,
      modules: [{ name: 'account-summary', ready: true, reason: null }],
    });
  });

  it('/readyz is 503 naming the module that is not ready', async () => {
    const { get } = await start(() =>
      Promise.resolve({
        modules: [
          { name: 'a', ready: true, reason: null },
          { name: 'b', ready: false, reason: 'catching-up' },
        ],
      }),
    );
    const res = await get('/readyz');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toMatchObject({
      ready: false,
      modules: [{ name: 'a' }, { name: 'b', ready: false, reason: 'catching-up' }],
    });
  });

  it('/readyz is 503 with the reason when health() rejects (MongoDB unreachable)', async () => {
    const { get } = await start(() =>
      Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')),
    );
    const res = await get('/readyz');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toEqual({
      ready: false,
      modules: [],
      reason: 'health check failed: connect ECONNREFUSED 127.0.0.1:1',
    });
  });

  it('/readyz is 503 when health() never answers', async () => {
    const { get } = await start(() => new Promise<HealthReport>(() => undefined), {
      healthTimeoutMs: 50,
    });
    const res = await get('/readyz');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toMatchObject({
      reason: 'health check failed: no answer within 50 ms',
    });
  });

  it('answers 404 for unknown paths and 405 for other methods', async () => {
    const { get } = await start(healthy);
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/metrics', { method: 'POST' })).status).toBe(405);
    expect((await get('/healthz?verbose=1')).status).toBe(200);
  });

  it('a port in use is a usage error (exit 2) naming host:port and the setting', async () => {
    const { server } = await start(healthy);
    const err = await startHttpServer({
      host: '127.0.0.1',
      port: server.port,
      metrics: createMetrics(),
      health: healthy,
      logger: silentLogger(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProjectordError);
    const pe = err as ProjectordError;
    expect(pe.exitCode).toBe(2);
    expect(pe.code).toBe('METRICS_PORT_IN_USE');
    expect(pe.message).toContain(`127.0.0.1:${server.port}`);
    expect(pe.message).toContain('--metrics-port');
    expect(pe.message).toContain('PROJECTORD_METRICS_PORT');
  });

  it('close() is idempotent and frees the port', async () => {
    const { server } = await start(healthy);
    await Promise.all([server.close(), server.close()]);
    const again = await startHttpServer({
      host: '127.0.0.1',
      port: server.port,
      metrics: createMetrics(),
      health: healthy,
      logger: silentLogger(),
    });
    servers.push(again);
    expect(again.port).toBe(server.port);
  });
});

describe('createEventLoopMonitor', () => {
  it('reports a block of the event loop', async () => {
    const monitor = createEventLoopMonitor({ resolutionMs: 10 });
    try {
      // Wait (on the condition, not a sleep) until the monitor has its base sample.
      const warmUntil = Date.now() + 5000;
      while (monitor.samples() === 0 && Date.now() < warmUntil) {
        await new Promise<void>((resolve) => setTimeout(resolve, 5));
      }
      expect(monitor.samples()).toBeGreaterThan(0);
      // The condition under test is a blocked loop, so block it on purpose.
      const until = Date.now() + 250;
      while (Date.now() < until) {
        /* busy */
      }
      const samples = monitor.samples();
      const seenUntil = Date.now() + 5000;
      while (monitor.samples() === samples && Date.now() < seenUntil) {
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      expect(monitor.maxDelayMs()).toBeGreaterThanOrEqual(200);
    } finally {
      monitor.stop();
    }
  });
});
