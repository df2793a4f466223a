import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/mongo.js';
import { mongoTarget, proxiedMongoUri, startTcpProxy, type TcpProxy } from '../helpers/tcpProxy.js';

/** The fault-injection proxy against a local echo server: forwarding, cuts, pause, close. */
describe('tcpProxy', () => {
  let echo: Server;
  let echoPort = 0;
  let serverSockets = 0;
  const clients: Socket[] = [];
  let proxy: TcpProxy | undefined;

  beforeAll(async () => {
    echo = createServer((s) => {
      serverSockets += 1;
      s.on('error', () => undefined);
      s.on('close', () => (serverSockets -= 1));
      s.pipe(s);
    });
    echo.listen(0, '127.0.0.1');
    await once(echo, 'listening');
    const addr = echo.address();
    if (addr === null || typeof addr === 'string') throw new Error('echo server has no port');
    echoPort = addr.port;
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await proxy?.close();
    proxy = undefined;
    await waitFor(() => serverSockets === 0, { what: 'echo server sockets closed' });
  });
  afterAll(async () => {
    await new Promise<void>((r) => echo.close(() => r()));
  });

  async function client(p: TcpProxy): Promise<Socket & { received: () => string }> {
    const s = connect(p.port, p.host);
    clients.push(s);
    let data = '';
    s.on('data', (d: Buffer) => (data += d.toString()));
    s.on('error', () => undefined);
    await once(s, 'connect');
    return Object.assign(s, { received: () => data });
  }

  /** Resolves on 'close' whatever error came before it (a reset emits one). */
  const closed = (s: Socket): Promise<void> =>
    new Promise((resolve) => {
      if (s.closed) resolve();
      else s.once('close', () => resolve());
    });

  async function roundTrip(s: Socket & { received: () => string }, text: string): Promise<void> {
    const before = s.received().length;
    s.write(text);
    await waitFor(() => s.received().slice(before) === text, { what: `echo of ${text}` });
  }

  it('forwards data both ways', async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: echoPort });
    const a = await client(proxy);
    const b = await client(proxy);
    await roundTrip(a, 'hello');
    await roundTrip(b, 'world');
    expect(proxy.open).toBe(2);
    expect(proxy.accepted).toBe(2);
  });

  it('cutAll drops live connections on both sides; new connections work after', async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: echoPort });
    const a = await client(proxy);
    const b = await client(proxy);
    await roundTrip(a, 'x');
    await roundTrip(b, 'y');
    const bothClosed = Promise.all([closed(a), closed(b)]);
    expect(proxy.cutAll()).toBe(2);
    await bothClosed;
    expect(proxy.cuts).toBe(1);
    await waitFor(() => proxy?.open === 0 && serverSockets === 0, { what: 'all sides closed' });

    const c = await client(proxy);
    await roundTrip(c, 'after the cut');
    expect(proxy.cutAll()).toBe(1);
    expect(proxy.cuts).toBe(2);
    expect(proxy.cutAll()).toBe(0);
    expect(proxy.cuts).toBe(2);
  });

  it('pause refuses new connections and keeps live ones; resume accepts again', async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: echoPort });
    const live = await client(proxy);
    proxy.pause();
    const refused = connect(proxy.port, proxy.host);
    clients.push(refused);
    refused.on('error', () => undefined);
    await closed(refused);
    expect(refused.bytesRead).toBe(0);
    await roundTrip(live, 'still here');
    proxy.resume();
    await roundTrip(await client(proxy), 'back');
  });

  it('pause in hold mode delays new connections until resume', async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: echoPort });
    proxy.pause('hold');
    const held = await client(proxy);
    held.write('waiting');
    await waitFor(() => proxy?.accepted === 1, { what: 'accepted' });
    expect(held.received()).toBe('');
    expect(serverSockets).toBe(0);
    proxy.resume();
    await waitFor(() => held.received() === 'waiting', { what: 'held data forwarded' });
  });

  it('close cuts everything and stops listening', async () => {
    proxy = await startTcpProxy({ host: '127.0.0.1', port: echoPort });
    const a = await client(proxy);
    const aClosed = closed(a);
    await proxy.close();
    await aClosed;
    const late = connect(proxy.port, proxy.host);
    clients.push(late);
    const [err] = (await once(late, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
  });

  it('rewrites MongoDB URIs to go through the proxy', () => {
    expect(mongoTarget('mongodb://127.0.0.1:4567/?directConnection=true')).toEqual({
      host: '127.0.0.1',
      port: 4567,
    });
    expect(mongoTarget('mongodb://u:p@db.local,db2.local:2/x?replicaSet=rs')).toEqual({
      host: 'db.local',
      port: 27017,
    });
    expect(
      proxiedMongoUri('mongodb://u:p@h1:1,h2:2/admin?replicaSet=rs&w=majority', {
        host: '127.0.0.1',
        port: 9,
      }),
    ).toBe('mongodb://u:p@127.0.0.1:9/admin?w=majority&directConnection=true');
    expect(() => mongoTarget('mongodb+srv://cluster.example.com')).toThrow(/only mongodb:\/\//);
  });
});
