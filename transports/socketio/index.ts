/**
 * socket.io transport (docs/transports.md): a stock socket.io-client on the Herald namespace emits
 * subscribe/unsubscribe/publish/presence/history/auth with acks that get protocol v1 replies, and
 * receives publications as the `message` event. socket.io is only the wire: rooms and socket.io
 * adapters play no part; the core routes and the Herald cluster adapter replicates.
 *
 * Either Herald runs its own socket.io server on the broker's HTTP server (default path
 * `/socket.io/`, client bundle served there), or it is given the application's `io` and only adds
 * its namespace to it (the application then owns the path, the engine and its options).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server, type Namespace, type Socket } from 'socket.io';
import { ConfigError, HeraldError, type Transport, type TransportHost } from '../../core/plugin.js';
import { handshakeOf } from '../shared/handshake.js';
import { SocketIoConnection } from './connection.js';
import { SocketIoEncoder } from './encoder.js';
import { createEngine, type EngineOptions, type EngineServer } from './engine.js';
import { commandOf, isHeraldEvent, takeAck } from './events.js';

export interface SocketIoTransportOptions {
  /**
   * Herald's namespace, or several (default '/herald'). The standalone binary serves ['/', '/herald'],
   * so a stock `io(url)` works as is. An event on a namespace Herald does not serve is answered with
   * an error (ack and `herald:error`), never left unanswered: see `answerStrayEvents`.
   */
  namespace?: string | string[];
  /** An existing socket.io server to add the namespace to; omit to let Herald run its own. */
  io?: Server;
  /** Own server only: the engine.io path (default '/socket.io/'). */
  path?: string;
  /** Own server only: serve the client bundle at `<path>socket.io.js` (default true). */
  serveClient?: boolean;
  /** Own server only: engine.io transports (default ['polling', 'websocket']). */
  transports?: ('polling' | 'websocket')[];
  /** Own server only: extra engine.io options (cors, pingTimeout...). */
  engine?: EngineOptions;
  /** Milliseconds a slow consumer's socket may take to close before it is destroyed (default 2000). */
  closeTimeout?: number;
}

/** Files of socket.io's client bundle it serves under its path. */
const CLIENT_FILES = /^socket\.io(\.esm|\.msgpack)?(\.min)?\.js(\.map)?$/;

export class SocketIoTransport implements Transport {
  readonly name = 'socketio';
  private readonly options: SocketIoTransportOptions;
  private readonly namespaces: readonly string[];
  private readonly path: string;
  private io: Server | undefined;
  private engine: EngineServer | undefined;
  private readonly nsps: Namespace[] = [];

  constructor(options: SocketIoTransportOptions = {}) {
    this.options = options;
    const names = options.namespace ?? '/herald';
    this.namespaces = [...new Set(Array.isArray(names) ? names : [names])];
    if (this.namespaces.length === 0) throw new ConfigError([{ path: 'namespace', message: 'give at least one namespace' }], 'invalid socket.io options');
    for (const n of this.namespaces) if (!n.startsWith('/')) throw new ConfigError([{ path: 'namespace', message: `${JSON.stringify(n)} must start with "/"` }], 'invalid socket.io options');
    const path = options.path ?? '/socket.io/';
    this.path = path.endsWith('/') ? path : `${path}/`;
  }

  /** The socket.io server in use (Herald's own, or the one it was given); set once attached. */
  get server(): Server | undefined {
    return this.io;
  }

  attach(host: TransportHost): void {
    const { limits } = host.options;
    if (this.options.io) {
      this.io = this.options.io;
    } else {
      this.io = new Server({ path: this.path, serveClient: this.options.serveClient ?? true });
      this.engine = createEngine({
        path: this.path,
        transports: this.options.transports ?? ['polling', 'websocket'],
        maxHttpBufferSize: limits.maxPayload,
        pingInterval: limits.pingInterval,
        perMessageDeflate: false,
        ...this.options.engine,
      });
      this.io.bind(this.engine as never);
      const engine = this.engine;
      const serveClient = this.options.serveClient ?? true;
      host.onUpgrade(this.path, (req, socket, head) => engine.handleUpgrade(req, socket, head));
      host.onRequest(this.path, (req, res) => {
        const file = (req.url ?? '').slice(this.path.length).split('?')[0]!;
        if (serveClient && CLIENT_FILES.test(file)) this.serveClient(file, req, res);
        else engine.handleRequest(req, res);
      });
    }
    const ownsEngine = this.engine !== undefined;
    const closeTimeout = this.options.closeTimeout ?? 2000;
    for (const name of this.namespaces) {
      const nsp = this.io.of(name);
      nsp.on('connection', (socket: Socket) => this.accept(host, socket, name, ownsEngine, closeTimeout));
      this.nsps.push(nsp);
    }
    // socket.io always accepts the main namespace: a client that lands there must learn why nothing answers.
    if (!this.namespaces.includes('/')) {
      const main = this.io.of('/');
      const stray = (socket: Socket) => answerStrayEvents(socket, this.namespaces, !ownsEngine);
      main.on('connection', stray);
      this.strays = () => main.off('connection', stray);
    }
  }

  private strays: (() => void) | undefined;

  private accept(host: TransportHost, socket: Socket, namespace: string, ownsEngine: boolean, closeTimeout: number): void {
    const encoder = new SocketIoEncoder(namespace);
    const connection = new SocketIoConnection(socket, namespace, ownsEngine, closeTimeout);
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const token = typeof auth?.token === 'string' ? auth.token : undefined;
    const session = host.open(connection, handshakeOf(socket.request, 'socketio', token), encoder);

    socket.onAny((event: string, ...args: unknown[]) => {
      const ack = takeAck(args);
      let command: Record<string, unknown>;
      try {
        // A bare packet (`42/herald,`) has no event name at all.
        if (typeof event !== 'string') throw new HeraldError('bad_request', 'an event packet needs an event name');
        if (!isHeraldEvent(event)) throw new HeraldError('bad_request', `unknown event ${JSON.stringify(event).slice(0, 80)}`);
        command = commandOf(event, args);
      } catch (err) {
        // Counted as a protocol error like an undecodable ws frame; an ack still gets its answer.
        const error = err instanceof HeraldError ? err : new HeraldError('bad_request', 'malformed event');
        ack?.({ ok: false, error: error.toJSON() });
        session.reject(error);
        return;
      }
      // The reply goes to the ack once the frames queued before it are written (contracts.ts ReplyHandler).
      session.handle(command, ack === undefined ? undefined : (reply) => { ack(reply); });
    });
    socket.once('disconnect', (reason: string) => {
      session.disconnected(reason === 'client namespace disconnect' ? 1000 : 1006);
    });
  }

  /** socket.io's own bundle handler (etag, compression); it is not public API, hence the cast. */
  private serveClient(file: string, req: IncomingMessage, res: ServerResponse): void {
    (this.io as unknown as { serve(f: string, q: IncomingMessage, s: ServerResponse): void }).serve(file, req, res);
  }

  async close(): Promise<void> {
    this.strays?.();
    this.strays = undefined;
    if (this.nsps.length > 0) {
      for (const nsp of this.nsps) nsp.removeAllListeners('connection');
      // The broker closed the sessions just now: a `herald:close` queued behind this turn's
      // publications still sits in engine.io's write buffer, and closing the server would drop it.
      if (this.engine) await drainWriteBuffers(this.engine, this.options.closeTimeout ?? 2000);
      for (const nsp of this.nsps.splice(0)) nsp.disconnectSockets(true);
    }
    if (this.engine && this.io) {
      await new Promise<void>((resolve) => this.io!.close(() => resolve()));
    }
  }
}

/**
 * A socket on a namespace Herald does not serve (socket.io's main namespace `/`): every event
 * Herald would understand is answered with an error naming the namespaces to use, as an ack when
 * the client asked for one and as `herald:error` always. On an application's own socket.io server
 * (`shared`) the application may handle such events itself: Herald answers only those that have no
 * listener of the application's, and otherwise never touches the socket.
 */
function answerStrayEvents(socket: Socket, served: readonly string[], shared: boolean): void {
  socket.use((packet, next) => {
    const [event] = packet as unknown as [unknown];
    if (typeof event !== 'string' || (shared && (!isHeraldEvent(event) || socket.listeners(event).length > 0))) return next();
    const args = packet.slice(1) as unknown[];
    const ack = takeAck(args);
    const error = new HeraldError('bad_request', `Herald is not served on socket.io namespace ${JSON.stringify(socket.nsp.name)}: connect to ${served.map((n) => JSON.stringify(n)).join(' or ')}, e.g. io('http://host:port${served[0]}')`).toJSON();
    ack?.({ ok: false, error });
    socket.emit('herald:error', error);
    // Handled here: the application's listeners (if any) do not see it as an unhandled event.
  });
}

/** Waits (at most `timeoutMs`) until no engine.io connection has packets waiting to be written. */
async function drainWriteBuffers(engine: EngineServer, timeoutMs: number): Promise<void> {
  const clients = (engine as unknown as { clients: Record<string, { writeBuffer: unknown[]; readyState: string }> }).clients;
  const deadline = Date.now() + timeoutMs;
  const waiting = () => Object.values(clients).some((c) => c.readyState !== 'closed' && c.writeBuffer.length > 0);
  while (waiting() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
}

/** The socket.io transport. */
export function socketio(options: SocketIoTransportOptions = {}): Transport {
  return new SocketIoTransport(options);
}
