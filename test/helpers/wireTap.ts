import { connect, createServer, type Server, type Socket } from 'node:net';
import { BSON } from 'mongodb';
import { listenOnFreePort, proxiedMongoUri, type ProxyTarget } from './tcpProxy.js';

/**
 * A TCP proxy that records every command one client sends to MongoDB, with the time it passed
 * through. For tests that must prove a process wrote nothing after some moment (a paused lease
 * owner resumed after its lease was taken over): the database alone cannot say who wrote a
 * document, and exactly-once writes make a stale duplicate invisible in the read model, but the
 * wire shows every write command a process *sent*, refused or not.
 *
 * Only OP_MSG (every command of a modern driver) is decoded; the handshake's legacy OP_QUERY and
 * compressed messages are skipped (the test URIs ask for no compression).
 */
export interface WireCommand {
  /** Date.now() when the message's last byte reached the proxy. */
  at: number;
  /** The command's first key: `update`, `insert`, `findAndModify`, `getMore`, … */
  name: string;
  /** The command's target collection, when its first value is a string. */
  collection: string | undefined;
  /** Date.now() when the server's reply reached the proxy (unset until then). */
  repliedAt?: number;
}

export interface WireTap {
  /** A `mongodb://` URI that reaches the target through this tap. */
  readonly uri: string;
  commands(): readonly WireCommand[];
  /** Cuts every connection and stops listening. Idempotent. */
  close(): Promise<void>;
}

const OP_MSG = 2013;
const WRITE_COMMANDS: ReadonlySet<string> = new Set([
  'insert',
  'update',
  'delete',
  'findAndModify',
  'bulkWrite',
]);

export const isWriteCommand = (c: WireCommand): boolean => WRITE_COMMANDS.has(c.name);

/** The command document of an OP_MSG (its kind-0 section), or undefined. */
function commandOf(msg: Buffer): BSON.Document | undefined {
  const flags = msg.readUInt32LE(16);
  // Bit 0: a CRC-32C trails the sections.
  const end = msg.length - (flags & 1 ? 4 : 0);
  let at = 20;
  while (at < end) {
    const kind = msg.readUInt8(at);
    const size = msg.readInt32LE(at + 1);
    if (kind === 0) return BSON.deserialize(msg.subarray(at + 1, at + 1 + size));
    // Kind 1 (a document sequence): its size counts itself, the identifier and the documents.
    at += 1 + size;
  }
  return undefined;
}

export async function startWireTap(mongoUri: string, target: ProxyTarget): Promise<WireTap> {
  const commands: WireCommand[] = [];
  const sockets = new Set<Socket>();
  let closing: Promise<void> | undefined;

  const record = (msg: Buffer, byRequest: Map<number, WireCommand>): void => {
    if (msg.readInt32LE(12) !== OP_MSG) return;
    const doc = commandOf(msg);
    const name = doc ? Object.keys(doc)[0] : undefined;
    if (!doc || name === undefined) return;
    const value: unknown = doc[name];
    const command: WireCommand = {
      at: Date.now(),
      name,
      collection: typeof value === 'string' ? value : undefined,
    };
    commands.push(command);
    byRequest.set(msg.readInt32LE(4), command);
  };

  /** Calls `onMessage` with every complete wire message of a byte stream. */
  const framer = (onMessage: (msg: Buffer) => void) => {
    let pending = Buffer.alloc(0);
    return (chunk: Buffer): void => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 16 && pending.length >= pending.readInt32LE(0)) {
        const length = pending.readInt32LE(0);
        onMessage(pending.subarray(0, length));
        pending = pending.subarray(length);
      }
    };
  };

  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    // Request ids are per connection: a reply names its request by `responseTo`.
    const byRequest = new Map<number, WireCommand>();
    const fromClient = framer((msg) => record(msg, byRequest));
    const fromServer = framer((msg) => {
      const command = byRequest.get(msg.readInt32LE(8));
      if (command) command.repliedAt ??= Date.now();
    });
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      fromClient(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      fromServer(chunk);
    });
  });

  const address = await listenOnFreePort(server, 'wire tap');
  return {
    uri: proxiedMongoUri(mongoUri, { host: '127.0.0.1', port: address.port }),
    commands: () => commands,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      })),
  };
}
