/**
 * MQTT 3.1.1 and 5.0 transport (docs/transports.md, "MQTT"): over TCP on its own port when `port`
 * is given, and over WebSocket at `/mqtt` on the broker's HTTP port (subprotocol `mqtt`). MQTT
 * clients share the topic space with every other transport: `a/b/c` is `a.b.c`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { Admission, matches, type Principal, type Transport, type TransportHost } from '../../core/plugin.js';
import { MqttClient, type Wire } from './client.js';
import type { LiveClient, MqttContext, Will } from './context.js';
import { resolveMqttOptions, type MqttOptions, type ResolvedMqttOptions } from './options.js';
import { Reason } from './reason-codes.js';
import { RetainedIndex, SessionStore } from './store.js';

export type { MqttOptions } from './options.js';
export { patternsFromMqtt, topicFromMqtt, topicToMqtt } from './topics.js';

/** Milliseconds between checks of keepalive and CONNECT deadlines. */
const SWEEP_MS = 1000;
/** Milliseconds a WebSocket client gets to answer our close before its socket is destroyed. */
const WS_CLOSE_TIMEOUT = 2000;

export class MqttTransport implements Transport, MqttContext {
  readonly name = 'mqtt';
  host!: TransportHost;
  options!: ResolvedMqttOptions;
  store!: SessionStore;
  retained!: RetainedIndex;
  private readonly input: MqttOptions;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private admission: Admission | undefined;
  private readonly clients = new Set<MqttClient>();
  private readonly live = new Map<string, LiveClient>();
  private readonly delayedWills = new Map<string, NodeJS.Timeout>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(options: MqttOptions = {}) {
    // Validated now, so a bad option fails where it was written; defaults from the broker come at attach.
    resolveMqttOptions(options, { maxPayload: 1, authTimeout: 1 });
    this.input = options;
  }

  /** The TCP port listened on (0 when there is no TCP listener). */
  get port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  async attach(host: TransportHost): Promise<void> {
    this.host = host;
    const { limits } = host.options;
    this.options = resolveMqttOptions(this.input, limits);
    this.store = new SessionStore(this.options.maxSessions);
    this.retained = new RetainedIndex(this.options.maxRetained);
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweepTimer.unref();
    if (this.options.path !== false) {
      this.wss = new WebSocketServer({
        noServer: true,
        clientTracking: false,
        maxPayload: this.options.maxPacketSize + 5, // a whole packet: fixed header + remaining length
        handleProtocols: (offered) => (offered.has('mqtt') ? 'mqtt' : false),
      });
      host.onUpgrade(this.options.path, (req, socket, head) => {
        this.wss!.handleUpgrade(req, socket, head, (ws) => this.acceptWebSocket(ws, req));
      });
    }
    if (this.options.port !== undefined) {
      this.admission = new Admission(limits);
      this.server = createServer((socket) => this.acceptTcp(socket));
      const bind = this.options.host ?? host.options.host;
      await new Promise<void>((resolve, reject) => {
        this.server!.once('error', reject).listen(this.options.port, bind, () => resolve());
      });
    }
  }

  private acceptTcp(socket: Socket): void {
    const remoteAddress = socket.remoteAddress ?? '';
    const admitted = this.admission!.admit(remoteAddress);
    socket.setNoDelay(true);
    const wire: Wire = {
      write: (bytes) => void socket.write(bytes),
      end: () => socket.end(),
      get writableLength() { return socket.writableLength; },
      remoteAddress,
      headers: {},
    };
    const client = new MqttClient(this, wire);
    this.clients.add(client);
    if (typeof admitted === 'string') {
      // Answered at its CONNECT, so the client learns why (5.0 reason code, 3.1.1 "server unavailable").
      client.refusal = admitted === 'connection_rate' ? Reason.connectionRateExceeded : Reason.quotaExceeded;
    }
    socket.on('data', (bytes: Buffer) => client.receive(bytes));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (typeof admitted === 'function') admitted();
      this.clients.delete(client);
      client.gone();
    });
  }

  private acceptWebSocket(ws: WebSocket, req: IncomingMessage): void {
    const wire: Wire = {
      write: (bytes) => { if (ws.readyState === WebSocket.OPEN) ws.send(bytes); },
      end: () => {
        if (ws.readyState === WebSocket.OPEN) ws.close(1000);
        setTimeout(() => ws.terminate(), WS_CLOSE_TIMEOUT).unref();
      },
      get writableLength() { return ws.bufferedAmount; },
      remoteAddress: req.socket.remoteAddress ?? '',
      headers: req.headers,
    };
    const client = new MqttClient(this, wire);
    this.clients.add(client);
    ws.on('message', (bytes: Buffer) => client.receive(bytes));
    ws.on('error', () => undefined);
    ws.on('close', () => {
      this.clients.delete(client);
      client.gone();
    });
  }

  /** Ends connections silent past 1.5 × their keepalive, and those that never sent CONNECT in time. */
  private sweep(): void {
    const now = Date.now();
    for (const client of this.clients) {
      if (client.session === undefined) {
        if (now - client.openedAt > this.options.connectTimeout) client.end();
      } else if (client.silenceLimit > 0 && now - client.lastSeen > client.silenceLimit) {
        client.refuse(Reason.keepAliveTimeout, 'keepalive timeout');
      }
    }
  }

  // ------------------------------------------------------------------ MqttContext

  keepsHistory(topic: string): boolean {
    const { history } = this.host.options;
    return history.size > 0 && history.topics.some((p) => matches(p, topic));
  }

  claim(client: LiveClient): void {
    const previous = this.live.get(client.clientId);
    if (previous !== undefined && previous !== client) previous.takenOver();
    const will = this.delayedWills.get(client.clientId);
    if (will !== undefined) {
      // The client is back before its Will delay ran out: no Will (MQTT 5.0 §3.1.3.2.2).
      clearTimeout(will);
      this.delayedWills.delete(client.clientId);
    }
    this.live.set(client.clientId, client);
  }

  release(client: LiveClient): void {
    if (this.live.get(client.clientId) === client) this.live.delete(client.clientId);
  }

  publishWill(clientId: string, principal: Principal, will: Will): void {
    if (will.delay > 0 && this.delayedWills.size < this.options.maxSessions) {
      const timer = setTimeout(() => {
        this.delayedWills.delete(clientId);
        void this.sendWill(principal, will);
      }, will.delay * 1000);
      timer.unref();
      this.delayedWills.set(clientId, timer);
      return;
    }
    void this.sendWill(principal, will);
  }

  private async sendWill(principal: Principal, will: Will): Promise<void> {
    try {
      const authorize = this.host.options.hooks.authorize;
      if (authorize !== undefined && !(await authorize(principal, 'publish', will.topic))) {
        this.host.logger.info({ topic: will.topic, user: principal.user }, 'mqtt will not published: publish not allowed');
        return;
      }
      const position = await this.host.broker.publish(will.topic, will.data);
      if (will.retain && position.offset !== undefined) this.retained.set(will.topic, { offset: position.offset, epoch: position.epoch! });
    } catch (err) {
      this.host.logger.warn({ err, topic: will.topic }, 'mqtt will not published');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    for (const timer of this.delayedWills.values()) clearTimeout(timer);
    this.delayedWills.clear();
    for (const client of this.clients) client.end();
    this.clients.clear();
    this.store?.clear();
    this.wss?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** The MQTT transport. TCP only with `port`; WebSocket at `/mqtt` unless `path: false`. */
export function mqtt(options: MqttOptions = {}): MqttTransport {
  return new MqttTransport(options);
}
