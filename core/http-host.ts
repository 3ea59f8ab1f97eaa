/**
 * The HTTP side of embedding (docs/transports.md): exactly one of `port` (Herald owns a server),
 * `server` (Herald shares the application's; paths that are not Herald's are left alone) or
 * `noServer` (the application forwards upgrades and requests). Transports claim paths here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { RequestHandler, UpgradeHandler } from './contracts.js';
import type { ResolvedOptions } from './options.js';
import { Admission } from './limits/admission.js';
import { OriginPolicy } from './origins.js';
import { HeraldError, SetupError } from './errors.js';
import { sendError } from './http-json.js';

type HostOptions = Pick<ResolvedOptions, 'port' | 'host' | 'server' | 'noServer' | 'tls' | 'allowedOrigins'> & {
  readonly limits: Pick<ResolvedOptions['limits'], 'connectionsPerIp' | 'connectionRate' | 'connectionBurst' | 'exemptLoopback' | 'headersTimeout' | 'requestTimeout'>;
};

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

export class HttpHost {
  private readonly upgrades = new Map<string, UpgradeHandler>();
  private readonly exact = new Map<string, RequestHandler>();
  // An exact Map, then a short prefix list: 19.8 ns per lookup over the binary's paths and a miss,
  // find-my-way 57.2 ns (2.88x; A-vs-A 0.83-1.05x, 9 interleaved rounds, bench/micro/http-routing.ts),
  // and Herald's routes need neither parameters nor methods.
  private readonly prefixes: [string, RequestHandler][] = [];
  private readonly options: HostOptions;
  private readonly logger: Logger;
  /** Origin check and CORS, once for every transport (docs/security.md). */
  private readonly origins: OriginPolicy;
  /** Connections per IP and new connections per second per IP, once for every transport. */
  readonly admission: Admission;
  private server: Server | undefined;
  private owned = false;
  private restore: (() => void) | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(options: HostOptions, logger: Logger) {
    this.options = options;
    this.logger = logger;
    this.origins = new OriginPolicy(options.allowedOrigins);
    this.admission = new Admission(options.limits);
  }

  onUpgrade(path: string, handler: UpgradeHandler): void {
    if (this.upgrades.has(path)) throw new SetupError('route_conflict', `two transports claim upgrades on ${path}`);
    this.upgrades.set(path, handler);
  }

  onRequest(path: string, handler: RequestHandler): void {
    if (path.endsWith('/')) this.prefixes.push([path, handler]);
    else {
      if (this.exact.has(path)) throw new SetupError('route_conflict', `two transports claim requests on ${path}`);
      this.exact.set(path, handler);
    }
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const handler = this.upgrades.get(pathOf(req));
    if (handler === undefined) return false;
    // Refused before the upgrade: no transport (and no WebSocket handshake) ever sees it.
    if (this.origins.verdict(req) === 'forbidden') {
      refuseUpgrade(socket, 403, 'Forbidden');
      return true;
    }
    // Port mode counted the TCP connection when it was accepted; otherwise the upgrade is the connection.
    if (!this.owned) {
      const admitted = this.admission.admit(ipOf(req));
      if (typeof admitted === 'string') {
        refuseUpgrade(socket, 429, 'Too Many Requests');
        return true;
      }
      socket.on('close', admitted); // fires once; once() would add a wrapper per connection
    }
    handler(req, socket, head);
    return true;
  }

  handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const path = pathOf(req);
    let handler = this.exact.get(path);
    if (handler === undefined) for (const [prefix, h] of this.prefixes) if (path.startsWith(prefix)) { handler = h; break; }
    if (handler === undefined) return false;
    if (this.origins.verdict(req) === 'forbidden') {
      refuse(res, 403, 'forbidden', 'origin not allowed');
      return true;
    }
    if (this.origins.cors(req, res)) return true;
    if (!this.owned) {
      // Long polls and SSE streams hold a request open: count them, but do not charge the rate
      // (a back end publishing over keep-alive would pay per request).
      const admitted = this.admission.admit(ipOf(req), false);
      if (typeof admitted === 'string') {
        refuse(res, 429, 'limit_exceeded', 'too many connections from this address');
        return true;
      }
      res.on('close', admitted);
    }
    handler(req, res);
    return true;
  }

  async start(): Promise<void> {
    const { port, host, server } = this.options;
    if (server) return this.share(server);
    if (port === undefined) return; // noServer: the application forwards.
    const { limits, tls } = this.options;
    const serverOptions = {
      headersTimeout: limits.headersTimeout,
      requestTimeout: limits.requestTimeout,
      // Node checks both timeouts on this interval (30 s by default, far above the timeouts).
      connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(limits.headersTimeout / 4))),
    };
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      if (!this.handleRequest(req, res)) notFound(res);
    };
    const own: Server = tls ? createHttpsServer({ ...serverOptions, cert: tls.cert, key: tls.key }, onRequest) : createServer(serverOptions, onRequest);
    own.on('upgrade', (req, socket: Duplex, head) => {
      if (!this.handleUpgrade(req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    own.on('connection', (socket: Socket) => {
      // Every protocol starts as a TCP connection here, so per-IP caps cover them all, including
      // clients that never finish their headers (slowloris); a refused socket is dropped unread.
      const admitted = this.admission.admit(socket.remoteAddress ?? '');
      if (typeof admitted === 'string') {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      // One plain listener: 'close' fires once, and each once() would cost a wrapper per socket.
      socket.on('close', () => {
        this.sockets.delete(socket);
        admitted();
      });
    });
    own.on('clientError', (_err, socket) => socket.destroy());
    this.server = own;
    this.owned = true;
    await new Promise<void>((resolve, reject) => {
      own.once('error', reject);
      own.listen(port, host ?? '127.0.0.1', () => {
        own.off('error', reject);
        resolve();
      });
    });
  }

  /**
   * Shares the application's server: handles Herald's upgrade paths and leaves the others to the
   * application's own 'upgrade' listeners; puts Herald's request paths in front of the
   * application's 'request' listeners (engine.io does the same), which must be set before this runs.
   */
  private share(server: Server): void {
    this.server = server;
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      this.handleUpgrade(req, socket, head);
    };
    const previous = server.listeners('request') as Listener[];
    server.removeAllListeners('request');
    const onRequest: Listener = (req, res) => {
      if (this.handleRequest(req, res)) return;
      for (const l of previous) l.call(server, req, res);
      if (previous.length === 0) notFound(res);
    };
    server.on('request', onRequest);
    server.on('upgrade', onUpgrade);
    this.restore = () => {
      server.off('upgrade', onUpgrade);
      server.off('request', onRequest);
      for (const l of previous) server.on('request', l);
    };
  }

  address(): AddressInfo | undefined {
    const a = this.server?.address();
    return a !== null && typeof a === 'object' ? a : undefined;
  }

  /** Stops taking new connections on a server Herald owns. */
  stopAccepting(): void {
    if (this.owned && this.server?.listening) this.server.close();
  }

  async close(): Promise<void> {
    this.restore?.();
    this.restore = undefined;
    if (!this.owned || !this.server) return;
    const server = this.server;
    this.server = undefined;
    // Keep-alive and SSE sockets would hold close() open; transports have said goodbye by now.
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  }
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function ipOf(req: IncomingMessage): string {
  return req.socket.remoteAddress ?? '';
}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  // end() waits for the peer; a hostile one may never read, so do not hold the socket for it.
  setTimeout(() => socket.destroy(), 1000).unref();
}

function refuse(res: ServerResponse, status: number, code: 'forbidden' | 'limit_exceeded', message: string): void {
  sendError(res, new HeraldError(code, message), status, { connection: 'close' });
}

function notFound(res: ServerResponse): void {
  sendError(res, new HeraldError('bad_request', 'no such path'), 404);
}
