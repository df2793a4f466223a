import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 for fault injection: clients connect to `port`, each connection is
 * piped to the target. `cutAll()` resets every open client and upstream socket at once (what a
 * dropped network looks like to the driver); `pause()` refuses (or holds) new connections until
 * `resume()`. Closing one side of a pair always destroys the other.
 */
export interface ProxyTarget {
  host: string;
  port: number;
}

export type PauseMode = 'refuse' | 'hold';

export interface TcpProxy {
  readonly host: string;
  readonly port: number;
  /** How many times `cutAll()` dropped at least one connection. */
  readonly cuts: number;
  /** Connections accepted so far (including refused and held ones). */
  readonly accepted: number;
  /** Client connections currently open (forwarding or held). */
  readonly open: number;
  /** Destroys every open connection with a reset; returns how many client sockets it dropped. */
  cutAll(): number;
  /** `refuse`: new connections are dropped at once; `hold`: they wait, unforwarded, for resume. */
  pause(mode?: PauseMode): void;
  resume(): void;
  /** Cuts everything and stops listening. Idempotent. */
  close(): Promise<void>;
}

function reset(socket: Socket): void {
  if (!socket.destroyed) socket.resetAndDestroy();
}

export async function startTcpProxy(target: ProxyTarget): Promise<TcpProxy> {
  const pairs = new Map<Socket, Socket | undefined>();
  let paused: PauseMode | undefined;
  let cuts = 0;
  let accepted = 0;
  let closing: Promise<void> | undefined;

  const forward = (client: Socket): void => {
    const upstream = connect(target.port, target.host);
    pairs.set(client, upstream);
    upstream.setNoDelay(true);
    upstream.on('error', () => reset(client));
    upstream.on('close', () => reset(client));
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  };

  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    accepted += 1;
    client.setNoDelay(true);
    client.on('error', () => undefined);
    client.on('close', () => {
      const upstream = pairs.get(client);
      pairs.delete(client);
      if (upstream) reset(upstream);
    });
    if (paused === 'refuse' || closing) {
      reset(client);
      return;
    }
    if (paused === 'hold') {
      pairs.set(client, undefined);
      return;
    }
    forward(client);
  });

  const address = await listenOnFreePort(server, 'tcp proxy');

  const cutAll = (): number => {
    const clients = [...pairs.keys()];
    for (const client of clients) {
      const upstream = pairs.get(client);
      pairs.delete(client);
      reset(client);
      if (upstream) reset(upstream);
    }
    if (clients.length > 0) cuts += 1;
    return clients.length;
  };

  return {
    host: '127.0.0.1',
    port: address.port,
    get cuts() {
      return cuts;
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return pairs.size;
    },
    cutAll,
    pause: (mode = 'refuse') => {
      paused = mode;
    },
    resume: () => {
      paused = undefined;
      for (const [client, upstream] of pairs) {
        if (upstream === undefined && !client.destroyed) forward(client);
      }
    },
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        cutAll();
      })),
  };
}

/** The host and port of a `mongodb://` URI's first host (what the proxy forwards to). */
/** Listens on a free port of 127.0.0.1; resolves with the port bound. */
export async function listenOnFreePort(server: Server, what: string): Promise<{ port: number }> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new Error(`${what}: the server has no TCP address`);
  }
  return { port: address.port };
}

export function mongoTarget(uri: string): ProxyTarget {
  const m = /^mongodb:\/\/(?:[^@/]*@)?([^/?,]+)/.exec(uri);
  const hostPort = m?.[1];
  if (!hostPort) {
    throw new Error(
      `tcp proxy: cannot proxy ${uri}: only mongodb:// URIs with a host are supported`,
    );
  }
  const bracket = /^\[(.+)\](?::(\d+))?$/.exec(hostPort);
  const [host, port] = bracket
    ? [bracket[1] ?? '', bracket[2]]
    : [hostPort.split(':')[0] ?? '', hostPort.split(':')[1]];
  return { host, port: port === undefined ? 27017 : Number(port) };
}

/**
 * The URI that reaches the same server through the proxy: credentials and options kept, the
 * hosts replaced by the proxy, `directConnection=true` (no replica-set discovery around it).
 */
export function proxiedMongoUri(uri: string, proxy: Pick<TcpProxy, 'host' | 'port'>): string {
  const m = /^mongodb:\/\/((?:[^@/]*@)?)[^/?]+(\/[^?]*)?(?:\?(.*))?$/.exec(uri);
  if (!m) throw new Error(`tcp proxy: cannot rewrite ${uri}: not a mongodb:// URI`);
  const params = new URLSearchParams(m[3] ?? '');
  params.delete('replicaSet');
  params.set('directConnection', 'true');
  return `mongodb://${m[1] ?? ''}${proxy.host}:${proxy.port}${m[2] ?? '/'}?${params.toString()}`;
}
