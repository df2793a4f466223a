import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ProjectordError, toError, usageError } from '../lib/errors.js';
import { deadline } from '../lib/timeout.js';
import { createEventLoopMonitor, type EventLoopMonitor } from './eventLoop.js';
import { isReady, type HealthReport } from './health.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export type {
  HealthReport,
  ModuleHealth,
  ModuleHealthInput,
  ModuleHealthStatus,
} from './health.js';
export { evaluateModuleHealth } from './health.js';

/**
 * The daemon's HTTP endpoints (DESIGN.md "CLI": `run` serves them):
 *  - GET /metrics  Prometheus text from the injected registry;
 *  - GET /healthz  200 while the process answers and its event loop has not been blocked
 *                  beyond `maxEventLoopDelayMs` recently, else 503 (liveness: restart me);
 *  - GET /readyz   200/503 with `{ ready, modules: [{ name, ready, reason }], reason? }`.
 * No request ever throws out of the handler: a failing or hanging `health()` (MongoDB
 * unreachable) answers 503 with the reason, after at most `healthTimeoutMs`.
 */
export interface HttpServerOptions {
  host: string;
  /** 0 picks a free port (tests); the bound port is returned. */
  port: number;
  metrics: Pick<Metrics, 'render' | 'contentType'>;
  health: () => Promise<HealthReport>;
  logger: Logger;
  /** Event-loop delay beyond which /healthz answers 503. Default 2000 ms. */
  maxEventLoopDelayMs?: number;
  /** Longest wait for `health()` before /readyz answers 503. Default 5000 ms. */
  healthTimeoutMs?: number;
  /** Injected in tests; default measures this process with perf_hooks. */
  eventLoop?: EventLoopMonitor;
}

export interface HttpServer {
  port: number;
  /** Idempotent; closes keep-alive connections too, so it never hangs. */
  close(): Promise<void>;
}

type Reply = { status: number; type: string; body: string };
const json = (status: number, value: unknown): Reply => ({
  status,
  type: 'application/json; charset=utf-8',
  body: `${JSON.stringify(value)}\n`,
});

export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const logger = opts.logger.child({ component: 'http' });
  const maxDelayMs = opts.maxEventLoopDelayMs ?? 2000;
  const healthTimeoutMs = opts.healthTimeoutMs ?? 5000;
  const ownMonitor = opts.eventLoop === undefined;
  const eventLoop = opts.eventLoop ?? createEventLoopMonitor();

  async function route(path: string): Promise<Reply> {
    switch (path) {
      case '/metrics':
        return { status: 200, type: opts.metrics.contentType, body: await opts.metrics.render() };
      case '/healthz': {
        const delayMs = Math.round(eventLoop.maxDelayMs());
        const ok = delayMs <= maxDelayMs;
        const reason = ok
          ? undefined
          : `event loop blocked for ${delayMs} ms (limit ${maxDelayMs} ms)`;
        return json(ok ? 200 : 503, { ok, eventLoopDelayMs: delayMs, reason });
      }
      case '/readyz': {
        try {
          const report = await deadline(
            opts.health(),
            healthTimeoutMs,
            () => new Error(`no answer within ${healthTimeoutMs} ms`),
          );
          const ready = isReady(report);
          const body = { ready, modules: report.modules, reason: report.notReadyReason };
          return json(ready ? 200 : 503, body);
        } catch (e) {
          const reason = `health check failed: ${toError(e).message}`;
          logger.warn({ reason }, 'readiness check failed');
          return json(503, { ready: false, modules: [], reason });
        }
      }
      default:
        return json(404, { error: `no such endpoint ${path}; try /metrics, /healthz or /readyz` });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let reply: Reply;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      reply = json(405, { error: `method ${req.method ?? '?'} not allowed; use GET` });
    } else {
      try {
        reply = await route(new URL(req.url ?? '/', 'http://localhost').pathname);
      } catch (e) {
        logger.error({ err: toError(e), url: req.url }, 'http handler failed');
        reply = json(500, { error: toError(e).message });
      }
    }
    res.writeHead(reply.status, { 'Content-Type': reply.type, 'Cache-Control': 'no-store' });
    res.end(reply.body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      logger.error({ err: toError(e) }, 'http response failed');
      res.destroy();
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    if (ownMonitor) eventLoop.stop();
    throw listenError(opts.host, opts.port, e);
  }
  server.on('error', (e) => logger.error({ err: toError(e) }, 'http server error'));

  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  logger.info({ host: opts.host, port }, 'serving /metrics, /healthz, /readyz');

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }).finally(() => {
        if (ownMonitor) eventLoop.stop();
      });
      return closing;
    },
  };
}

/** Turns a listen failure into an error that names the address and the setting to change. */
function listenError(host: string, port: number, e: unknown): ProjectordError {
  const err = toError(e);
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${host}:${port}`;
  const fix =
    'choose another with --metrics-port / PROJECTORD_METRICS_PORT ' +
    '(and --metrics-host / PROJECTORD_METRICS_HOST)';
  if (code === 'EADDRINUSE') {
    return usageError(
      'METRICS_PORT_IN_USE',
      `Cannot serve metrics on ${where}: the address is already in use. Stop the other process or ${fix}.`,
      err,
    );
  }
  if (code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return usageError(
      'METRICS_ADDRESS_INVALID',
      `Cannot serve metrics on ${where}: ${err.message}. Use an address this host owns and a port it may bind; ${fix}.`,
      err,
    );
  }
  return new ProjectordError(
    'METRICS_LISTEN_FAILED',
    `Cannot serve metrics on ${where}: ${err.message}`,
    {
      cause: err,
    },
  );
}
