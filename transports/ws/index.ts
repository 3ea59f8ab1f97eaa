/**
 * Raw WebSocket transport, protocol v1 (docs/protocol.md): `herald.v1.json` text frames or
 * `herald.v1.msgpack` binary frames, one protocol message per frame.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { type Chunk, type Codec, type Connection, type Encoder, HeraldError, jsonCodec, msgpackCodec, type SessionHandle, SUBPROTOCOLS, type Transport, type TransportHost } from '../../core/plugin.js';
import { BINARY, frame, TEXT } from '../shared/websocket-frame.js';
import { handshakeOf } from '../shared/handshake.js';
import { SharedJoin } from '../shared/shared-join.js';

export { SUBPROTOCOLS };

export interface WsTransportOptions {
  /** Upgrade path (default '/ws'). */
  path?: string;
  /**
   * permessage-deflate (default off). With it on, frames are compressed per connection, so they
   * cannot be shared between subscribers: fan-out costs more CPU.
   */
  perMessageDeflate?: boolean;
  /** Milliseconds a client gets to finish the close handshake before its socket is destroyed (default 2000). */
  closeTimeout?: number;
}

/** Prebuilt-frame encoders: one frame per publication per codec, shared by all subscribers. */
const framedEncoders: Record<string, Encoder> = {
  json: { key: 'ws.json', encode: (m) => frame(TEXT, jsonCodec.encode(m) as string) },
  msgpack: { key: 'ws.msgpack', encode: (m) => frame(BINARY, msgpackCodec.encode(m) as Buffer) },
};
/** Payload-only encoders for compressed connections, where ws frames (and deflates) each message. */
const payloadEncoders: Record<string, Encoder> = {
  json: { key: 'json', encode: (m) => jsonCodec.encode(m) },
  msgpack: { key: 'msgpack', encode: (m) => msgpackCodec.encode(m) },
};

/** One join per turn for every connection that got the same prebuilt frames (shared-join.ts). */
const frames = new SharedJoin();

const CLIENT = Symbol('herald.ws.client');
type Tagged = WebSocket & { [CLIENT]?: WsClient };

/** One WebSocket client: the core Connection over a ws socket, and its liveness for the ping loop. */
class WsClient implements Connection {
  alive = true;
  session: SessionHandle | undefined;
  constructor(
    readonly ws: WebSocket,
    private readonly socket: Duplex,
    readonly codec: Codec,
    private readonly compressed: boolean,
    private readonly closeTimeout: number,
    readonly registry: Set<WsClient>,
  ) {}

  write(chunks: Chunk[]): void {
    const ws = this.ws;
    if (ws.readyState !== WebSocket.OPEN) return;
    if (this.compressed) {
      for (const c of chunks) ws.send(c, { binary: this.codec.binary });
      return;
    }
    this.socket.write(chunks.length === 1 ? chunks[0]! : frames.join(chunks));
  }

  close(code: number, reason: string): void {
    const ws = this.ws;
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
    // A client that never answers the close (a stalled reader, say) must not hold the socket.
    setTimeout(() => ws.terminate(), this.closeTimeout).unref();
  }

  get bufferedAmount(): number {
    return this.socket.writableLength;
  }
}

function onMessage(this: Tagged, data: Buffer, isBinary: boolean): void {
  const client = this[CLIENT]!;
  client.alive = true;
  const { codec, session } = client;
  let value: unknown;
  try {
    value = codec.decode(isBinary || codec.binary ? data : data.toString('utf8'));
  } catch {
    session!.reject(new HeraldError('bad_request', `frame is not valid ${codec.name}`));
    return;
  }
  session!.handle(value);
}

function onPong(this: Tagged): void {
  this[CLIENT]!.alive = true;
}

function onClose(this: Tagged, code: number): void {
  const client = this[CLIENT]!;
  client.registry.delete(client);
  client.session!.disconnected(code);
}

function ignore(): void {}

export class WsTransport implements Transport {
  readonly name = 'ws';
  private readonly path: string;
  private readonly deflate: boolean;
  private readonly closeTimeout: number;
  private wss: WebSocketServer | undefined;
  private host: TransportHost | undefined;
  private readonly clients = new Set<WsClient>();
  private pingTimer: NodeJS.Timeout | undefined;

  constructor(options: WsTransportOptions = {}) {
    this.path = options.path ?? '/ws';
    this.deflate = options.perMessageDeflate ?? false;
    this.closeTimeout = options.closeTimeout ?? 2000;
  }

  attach(host: TransportHost): void {
    this.host = host;
    const { limits } = host.options;
    this.wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      maxPayload: limits.maxPayload,
      perMessageDeflate: this.deflate ? { threshold: 256 } : false,
      // Pick ours; a client offering none (or only others) gets JSON with no protocol header.
      handleProtocols: (offered) =>
        offered.has(SUBPROTOCOLS.msgpack) && !offered.has(SUBPROTOCOLS.json) ? SUBPROTOCOLS.msgpack
          : offered.has(SUBPROTOCOLS.json) ? SUBPROTOCOLS.json
            : offered.has(SUBPROTOCOLS.msgpack) ? SUBPROTOCOLS.msgpack : false,
    });
    host.onUpgrade(this.path, (req, socket, head) => {
      this.wss!.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, socket));
    });
    this.pingTimer = setInterval(() => this.ping(), limits.pingInterval);
    this.pingTimer.unref();
  }

  private accept(ws: WebSocket, req: IncomingMessage, socket: Duplex): void {
    const codec: Codec = ws.protocol === SUBPROTOCOLS.msgpack ? msgpackCodec : jsonCodec;
    const compressed = ws.extensions.includes('permessage-deflate');
    const encoder = (compressed ? payloadEncoders : framedEncoders)[codec.name]!;
    const client = new WsClient(ws, socket, codec, compressed, this.closeTimeout, this.clients);
    this.clients.add(client);
    client.session = this.host!.open(client, handshakeOf(req, 'ws'), encoder);
    (ws as Tagged)[CLIENT] = client;
    // Listeners are shared functions that find their client through the socket (`this`): no
    // closures per connection, which matters at tens of thousands of idle connections.
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    // ws reports protocol violations (oversized frame: 1009, bad UTF-8: 1007...) as 'error' and then closes.
    ws.on('error', ignore);
    ws.on('close', onClose); // 'close' fires once; on() spares the per-socket once() wrapper
  }

  /** Drops clients silent since the last round, pings the others. */
  private ping(): void {
    for (const client of this.clients) {
      if (!client.alive) {
        client.ws.terminate();
        continue;
      }
      client.alive = false;
      if (client.ws.readyState === WebSocket.OPEN) client.ws.ping();
    }
  }

  /** Waits (up to closeTimeout) for clients to finish their close handshakes, then destroys the rest. */
  async close(): Promise<void> {
    clearInterval(this.pingTimer);
    const deadline = Date.now() + this.closeTimeout;
    while (this.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const client of this.clients) client.ws.terminate();
    this.clients.clear();
    this.wss?.close();
  }
}

/** The raw WebSocket transport. */
export function ws(options: WsTransportOptions = {}): Transport {
  return new WsTransport(options);
}
