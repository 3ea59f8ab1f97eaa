/**
 * HeraldClient: protocol v1 over WebSocket with reconnects (full-jitter backoff), resubscription
 * with recovery, dead-server detection by ping, command timeouts and token refresh. The shape
 * follows centrifuge-js; docs/client.md explains each decision.
 */
import type { Position, PresenceEntry, PublishResult } from '../core/messages.js';
import { isPattern, isTopic, matches } from '../core/topic.js';
import { Backoff, fullJitterDelay } from './backoff.js';
import { codecFor, type Protocol } from './codec.js';
import { Connection, LocalCloseCodes, type Link, type Push, type Reply } from './connection.js';
import { Emitter } from './emitter.js';
import { HeraldClientError, isTransient } from './errors.js';
import { Subscription, type Message, type SubscribeOptions, type SubscriptionOwner } from './subscription.js';
import { SseLink, sseEndpoints, type SseFallbackOptions } from './sse-link.js';
import { defaultWebSocket, type WebSocketConstructor } from './websocket.js';

export type ClientState = 'disconnected' | 'connecting' | 'connected';

export type TokenSource = () => string | null | undefined | Promise<string | null | undefined>;

export interface HeraldClientOptions {
  /** The broker's WebSocket endpoint, e.g. `ws://localhost:8080/ws`. */
  url: string;
  /** Subprotocol: 'json' (default, text frames) or 'msgpack' (binary frames). */
  protocol?: Protocol;
  /** WebSocket constructor; default: the browser's, or `ws` in Node (loaded on first connect). */
  WebSocket?: WebSocketConstructor;
  /** A fixed token, sent as the first frame (`auth`). */
  token?: string;
  /**
   * Fetches a token: before the first connect when `token` is not given, and after the server
   * closed with 4001. Returning null/undefined/'' (or the token just rejected) stops the client;
   * throwing counts as a transient failure and is retried with backoff.
   */
  getToken?: TokenSource;
  /** Ceiling of the first reconnect delay, ms (default 500). Delays are uniform in [0, ceiling). */
  minReconnectDelay?: number;
  /** Largest reconnect delay ceiling, ms (default 20000). */
  maxReconnectDelay?: number;
  /** Milliseconds a command waits for its reply, including waiting for a connection (default 10000). */
  timeout?: number;
  /** Milliseconds a WebSocket gets to open (default 10000). */
  connectTimeout?: number;
  /** Send a `ping` after this many ms without any frame from the server (default 20000; 0 disables). */
  pingInterval?: number;
  /** A ping unanswered (and the server silent) this long means the connection is dead (default 10000). */
  pingTimeout?: number;
  /** Uniform [0, 1) source for the jitter (tests). */
  random?: () => number;
  /**
   * Fall back to Server-Sent Events (receive) plus the HTTP API (publish, presence, history) when
   * a WebSocket cannot be opened. Off by default. Once the fallback connected, reconnects stay on
   * it until close()/connect().
   */
  sse?: boolean | SseFallbackOptions;
}

export interface ConnectedEvent {
  /** The session id, known when the client authenticated (`auth` reply). */
  client: string | undefined;
  user: string | null | undefined;
  transport: 'websocket' | 'sse';
}

export interface ConnectingEvent {
  /** Close code of the connection that went away (or of the failed attempt); undefined on the first connect. */
  code: number | undefined;
  reason: string;
  /** Failed attempts in a row so far. */
  attempt: number;
  /** Milliseconds until the next attempt. */
  delay: number;
}

export interface DisconnectedEvent {
  code: number;
  reason: string;
  /** Why the client stopped on its own (4001 without a new token, 4400); absent after close(). */
  error?: HeraldClientError;
}

export type ClientEvents = {
  state: [state: ClientState, previous: ClientState];
  connecting: [ConnectingEvent];
  connected: [ConnectedEvent];
  disconnected: [DisconnectedEvent];
  /** Anything going wrong that is not tied to a command: server `error` pushes, undecodable frames, token failures. */
  error: [HeraldClientError];
  /** The application subscribed this connection (broker.subscribe); its publications come as `message`. Ends with the connection. */
  serverSubscribed: [{ topic: string; position: Position | undefined }];
  /** The application took this connection out of a topic it had subscribed it to (broker.unsubscribe). */
  serverUnsubscribed: [{ topic: string; reason: string }];
  /** A publication of a server-side subscription that no subscription of this client matches. */
  message: [Message<unknown>];
};

/** What a publish answers: core's wire type. */
export type { PublishResult };

export interface HistoryOptions {
  limit?: number;
  since?: Position;
}

export interface HistoryResult<T> {
  messages: Message<T>[];
  position: Position;
  /** With `since`: whether `messages` is everything after it. */
  recovered?: boolean;
}

interface Waiting {
  readonly command: { op: string } & Record<string, unknown>;
  readonly deadline: number;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (err: HeraldClientError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class HeraldClient extends Emitter<ClientEvents> implements SubscriptionOwner {
  readonly url: string;
  private readonly protocol: Protocol;
  private readonly timeout: number;
  private readonly connectTimeout: number;
  private readonly pingInterval: number;
  private readonly pingTimeout: number;
  private readonly getToken: TokenSource | undefined;
  private readonly WebSocketImpl: WebSocketConstructor | undefined;
  private readonly backoff: Backoff;
  private readonly random: () => number;
  private readonly minDelay: number;
  private readonly maxDelay: number;

  private currentState: ClientState = 'disconnected';
  private connection: Link | undefined;
  private readonly sseOptions: SseFallbackOptions | undefined;
  /** The WebSocket could not be opened and the SSE fallback could: stay on it. */
  private onSse = false;
  private token: string | undefined;
  private rejectedToken: string | undefined;
  private needToken: boolean;
  /** Bumped whenever the client stops or starts over, so stale async steps know to give up. */
  private generation = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly subscriptions = new Map<string, Subscription<any>>();
  private readonly wildcards = new Set<Subscription<any>>();
  /** Topics the application subscribed this connection to (`sub` pushes); they end with the connection. */
  private readonly serverTopics = new Set<string>();
  private readonly subscribeRetries = new Map<Subscription<any>, number>();
  private waiting: Waiting[] = [];
  private session: ConnectedEvent | undefined;

  constructor(options: HeraldClientOptions) {
    super();
    this.url = options.url;
    this.protocol = options.protocol ?? 'json';
    this.timeout = options.timeout ?? 10_000;
    this.connectTimeout = options.connectTimeout ?? 10_000;
    this.pingInterval = options.pingInterval ?? 20_000;
    this.pingTimeout = options.pingTimeout ?? 10_000;
    this.getToken = options.getToken;
    this.token = options.token;
    this.needToken = options.token === undefined && options.getToken !== undefined;
    this.WebSocketImpl = options.WebSocket;
    this.sseOptions = options.sse === true ? {} : options.sse === false ? undefined : options.sse;
    this.random = options.random ?? Math.random;
    this.minDelay = options.minReconnectDelay ?? 500;
    this.maxDelay = Math.max(options.maxReconnectDelay ?? 20_000, this.minDelay);
    this.backoff = new Backoff({ minDelay: this.minDelay, maxDelay: this.maxDelay, random: this.random });
  }

  get state(): ClientState {
    return this.currentState;
  }

  /** Session id and user of the current connection (after an `auth`), undefined while not connected. */
  get connected(): ConnectedEvent | undefined {
    return this.currentState === 'connected' ? this.session : undefined;
  }

  /**
   * Starts connecting (and reconnecting, until close() or a stop). Resolves once connected;
   * rejects if the client stops first (4001 without a new token, 4400, close()).
   */
  connect(): Promise<void> {
    const ready = this.whenConnected();
    if (this.currentState === 'disconnected') {
      this.generation++;
      this.backoff.reset();
      this.onSse = false;
      this.setState('connecting');
      this.emit('connecting', { code: undefined, reason: 'connect', attempt: 0, delay: 0 });
      void this.attempt(this.generation);
    }
    return ready;
  }

  /** Closes the connection, ends every subscription and rejects pending commands. connect() starts over. */
  close(): Promise<void> {
    this.stop(LocalCloseCodes.clientClose, 'client closed', undefined);
    for (const sub of [...this.subscriptions.values()]) this.dropSubscription(sub, new HeraldClientError('closed', 'client closed'));
    return Promise.resolve();
  }

  /**
   * Subscribes to a topic or pattern. The subscription lives across reconnects until
   * `unsubscribe()` or `close()`; wait for the first confirmation with `ready()`.
   */
  subscribe<T = unknown>(topic: string, onMessage?: (message: Message<T>, subscription: Subscription<T>) => void, options: SubscribeOptions = {}): Subscription<T> {
    if (!isPattern(topic)) throw new HeraldClientError('invalid_topic', `not a valid topic or pattern: ${JSON.stringify(topic).slice(0, 100)}`);
    if (this.subscriptions.has(topic)) throw new HeraldClientError('bad_request', `already subscribed to ${topic}; use that subscription or unsubscribe it first`);
    const sub = new Subscription<T>(this, topic, options);
    if (onMessage) sub.on('message', (m) => onMessage(m, sub));
    this.subscriptions.set(topic, sub);
    if (!sub.literal) this.wildcards.add(sub);
    if (this.currentState === 'connected' && this.connection) this.sendSubscribe(sub, this.connection);
    return sub;
  }

  /** The subscription to exactly this topic or pattern, if any. */
  getSubscription<T = unknown>(topic: string): Subscription<T> | undefined {
    return this.subscriptions.get(topic) as Subscription<T> | undefined;
  }

  /** Publishes; resolves with the position when the topic keeps history. Not retried after a disconnect (at most once). */
  async publish<T = unknown>(topic: string, data: T): Promise<PublishResult> {
    if (!isTopic(topic)) throw new HeraldClientError('invalid_topic', `not a valid topic to publish to: ${JSON.stringify(topic).slice(0, 100)}`);
    const reply = await this.call({ op: 'pub', topic, data });
    const result: PublishResult = {};
    if (typeof reply.offset === 'number') result.offset = reply.offset;
    if (typeof reply.epoch === 'string') result.epoch = reply.epoch;
    return result;
  }

  /** Who is subscribed to a topic now. */
  async presence(topic: string): Promise<PresenceEntry[]> {
    const reply = await this.call({ op: 'presence', topic });
    return (reply.clients ?? []) as PresenceEntry[];
  }

  /** Publications kept in the topic's history (oldest first), and its position now. */
  async history<T = unknown>(topic: string, options: HistoryOptions = {}): Promise<HistoryResult<T>> {
    const command: { op: string } & Record<string, unknown> = { op: 'history', topic };
    if (options.limit !== undefined) command.limit = options.limit;
    if (options.since !== undefined) command.since = options.since;
    const reply = await this.call(command);
    const messages = ((reply.messages ?? []) as Record<string, unknown>[]).map((m) => {
      const message: Message<T> = { topic: m.topic as string, data: m.data as T };
      if (typeof m.offset === 'number') message.offset = m.offset;
      if (typeof m.epoch === 'string') message.epoch = m.epoch;
      return message;
    });
    const result: HistoryResult<T> = { messages, position: { offset: reply.offset as number, epoch: reply.epoch as string } };
    if (typeof reply.recovered === 'boolean') result.recovered = reply.recovered;
    return result;
  }

  /** Round trip to the server. */
  async ping(): Promise<void> {
    await this.call({ op: 'ping' });
  }

  /**
   * Fetches a new token with getToken() and sends it on the live connection (`auth`), so a
   * session outlives its token's expiry without reconnecting.
   */
  async refreshToken(): Promise<void> {
    if (!this.getToken) throw new HeraldClientError('bad_request', 'refreshToken() needs the getToken option');
    const token = await this.getToken();
    if (!token) throw new HeraldClientError('unauthorized', 'getToken() returned no token');
    this.token = token;
    const reply = await this.call({ op: 'auth', token });
    if (this.session) this.session = { ...this.session, client: reply.client as string, user: reply.user as string | null };
  }

  // ------------------------------------------------------------------ connecting

  private async attempt(generation: number): Promise<void> {
    this.reconnectTimer = undefined;
    let token = this.token;
    if (this.needToken && this.getToken) {
      try {
        token = (await this.getToken()) ?? undefined;
      } catch (err) {
        if (generation !== this.generation) return;
        this.emit('error', new HeraldClientError('unauthorized', `getToken() failed: ${(err as Error)?.message ?? String(err)}`));
        this.retry(undefined, 'getToken failed');
        return;
      }
      if (generation !== this.generation) return;
      if (!token || token === this.rejectedToken) {
        this.stop(4001, 'unauthorized', new HeraldClientError('unauthorized', token ? 'getToken() returned the token the server rejected' : 'getToken() returned no token', 4001));
        return;
      }
      this.token = token;
      this.needToken = false;
    }

    let connection: Link;
    try {
      connection = await this.open(token);
    } catch (err) {
      if (generation !== this.generation) return;
      const e = err instanceof HeraldClientError ? err : new HeraldClientError('transport', (err as Error).message);
      this.retry(e.closeCode, e.message);
      return;
    }
    if (generation !== this.generation) {
      connection.close(LocalCloseCodes.clientClose, 'client closed');
      return;
    }
    this.connection = connection;
    connection.attach({
      push: (message) => this.receive(message),
      close: (code, reason) => this.closed(connection, code, reason),
      error: (err) => this.emit('error', err),
    });

    let session: ConnectedEvent = { client: undefined, user: undefined, transport: connection.transport };
    // Over SSE the token rides on every request instead (access_token, Authorization).
    if (token !== undefined && connection.transport === 'websocket') {
      try {
        const reply = await connection.request({ op: 'auth', token }, this.timeout);
        session = { client: reply.client as string, user: (reply.user ?? null) as string | null, transport: 'websocket' };
      } catch (err) {
        // unauthorized: the server closes with 4001 next, and closed() takes it from there.
        if ((err as HeraldClientError).code === 'timeout' && this.connection === connection) connection.drop(LocalCloseCodes.commandTimeout, 'auth timed out');
        return;
      }
      if (this.connection !== connection || generation !== this.generation) return;
    }
    this.opened(connection, session);
  }

  /** A WebSocket; failing that, and with the fallback on, SSE + HTTP. */
  private async open(token: string | undefined): Promise<Link> {
    const endpoints = this.sseOptions ? sseEndpoints(this.url, this.sseOptions) : undefined;
    if (!this.onSse || endpoints === undefined) {
      try {
        const WebSocket = this.WebSocketImpl ?? (await defaultWebSocket());
        return await Connection.open(WebSocket, this.url, codecFor(this.protocol), this.connectTimeout);
      } catch (err) {
        if (endpoints === undefined) throw err;
      }
    }
    const link = await SseLink.open(endpoints, token, this.connectTimeout);
    this.onSse = true;
    return link;
  }

  private opened(connection: Link, session: ConnectedEvent): void {
    this.session = session;
    this.backoff.reset();
    this.setState('connected');
    // Resubscribe before anything queued: the server runs commands in order.
    for (const sub of this.subscriptions.values()) this.sendSubscribe(sub, connection);
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) {
      clearTimeout(w.timer);
      connection.request(w.command, Math.max(w.deadline - Date.now(), 1)).then(w.resolve, w.reject);
    }
    this.schedulePing(connection);
    this.emit('connected', session);
  }

  /** The current connection closed (by the server, the network, or a local drop). */
  private closed(connection: Link, code: number, reason: string): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.session = undefined;
    clearTimeout(this.pingTimer);
    this.serverTopics.clear();
    for (const sub of this.subscriptions.values()) sub.connectionLost();
    if (this.currentState === 'disconnected') return;
    if (code === 4001) {
      this.rejectedToken = this.token;
      if (this.getToken) {
        this.needToken = true;
        this.retry(code, reason);
      } else {
        this.stop(code, reason, new HeraldClientError('unauthorized', `the server refused the credentials (4001${reason ? ` ${reason}` : ''})`, code));
      }
      return;
    }
    if (code === 4003) {
      // broker.disconnect(..., { code: 4003 }): logged out or banned; coming back is not wanted.
      this.stop(code, reason, new HeraldClientError('closed', `the server disconnected this client for good (4003${reason ? ` ${reason}` : ''})`, code));
      return;
    }
    if (code === 4400) {
      const error = new HeraldClientError('protocol_violation', `the server closed the connection for protocol violations (4400${reason ? ` ${reason}` : ''})`, code);
      this.stop(code, reason, error);
      return;
    }
    // 1001 (server going away), 4008 (slow consumer), 4029, 1006 and the rest: reconnect and recover.
    this.retry(code, reason);
  }

  private retry(code: number | undefined, reason: string): void {
    if (this.currentState === 'disconnected') return;
    this.setState('connecting');
    const attempt = this.backoff.attempts;
    const delay = this.backoff.next();
    const generation = this.generation;
    this.emit('connecting', { code, reason, attempt, delay });
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.attempt(generation), delay);
  }

  /** Stops for good (until connect()): no reconnect. */
  private stop(code: number, reason: string, error: HeraldClientError | undefined): void {
    this.generation++;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.pingTimer);
    this.reconnectTimer = undefined;
    const connection = this.connection;
    this.connection = undefined;
    this.session = undefined;
    connection?.close(LocalCloseCodes.clientClose, reason);
    for (const sub of this.subscriptions.values()) sub.connectionLost();
    const waiting = this.waiting;
    this.waiting = [];
    const failure = error ?? new HeraldClientError('closed', 'client closed');
    for (const w of waiting) { clearTimeout(w.timer); w.reject(failure); }
    if (this.currentState === 'disconnected') return;
    this.setState('disconnected');
    if (error) this.emit('error', error);
    this.emit('disconnected', error ? { code, reason, error } : { code, reason });
  }

  // ------------------------------------------------------------------ liveness

  /**
   * Server pings are WebSocket ping frames, invisible to browser JavaScript, so the client checks
   * liveness itself: after pingInterval without any frame it sends a protocol `ping`; no reply and
   * no other frame within pingTimeout means the path is dead, and the client reconnects.
   */
  private schedulePing(connection: Link): void {
    // SSE: EventSource reports a lost stream itself, and heartbeats (comments) are invisible to JS.
    if (this.pingInterval <= 0 || connection.transport !== 'websocket') return;
    clearTimeout(this.pingTimer);
    const wait = Math.max(connection.lastInbound + this.pingInterval - Date.now(), 0);
    this.pingTimer = setTimeout(() => {
      if (this.connection !== connection) return;
      if (Date.now() - connection.lastInbound < this.pingInterval) {
        this.schedulePing(connection);
        return;
      }
      const sentAt = Date.now();
      connection.request({ op: 'ping' }, this.pingTimeout).then(
        () => { if (this.connection === connection) this.schedulePing(connection); },
        (err: HeraldClientError) => {
          if (this.connection !== connection) return;
          // A reply stuck behind a slow command still proves the server alive if other frames came.
          if (err.code === 'timeout' && connection.lastInbound <= sentAt) connection.drop(LocalCloseCodes.noPong, 'no reply to ping');
          else this.schedulePing(connection);
        },
      );
    }, wait);
  }

  // ------------------------------------------------------------------ commands

  private call(command: { op: string } & Record<string, unknown>, timeout = this.timeout): Promise<Reply> {
    if (this.currentState === 'connected' && this.connection) return this.connection.request(command, timeout);
    if (this.currentState === 'disconnected') return Promise.reject(new HeraldClientError('closed', `${command.op}: the client is not connected (call connect())`));
    return new Promise((resolve, reject) => {
      const waiting: Waiting = {
        command, deadline: Date.now() + timeout, resolve, reject,
        timer: setTimeout(() => {
          this.waiting = this.waiting.filter((w) => w !== waiting);
          reject(new HeraldClientError('timeout', `${command.op} timed out: no connection within ${timeout} ms`));
        }, timeout),
      };
      this.waiting.push(waiting);
    });
  }

  private sendSubscribe(sub: Subscription<any>, connection: Link): void {
    const command = sub.command();
    connection.request(command, this.timeout).then(
      (reply) => {
        if (this.subscriptions.get(sub.topic) !== sub || this.connection !== connection) return;
        this.subscribeRetries.delete(sub);
        sub.subscribed(reply, command.since);
      },
      (err: HeraldClientError) => {
        if (this.subscriptions.get(sub.topic) !== sub || this.connection !== connection) return;
        if (err.code === 'disconnected') return; // resubscribed after the reconnect
        if (err.code === 'timeout') {
          // Did the server subscribe or not? Unknown: start over on a fresh connection (as centrifuge-js does).
          connection.drop(LocalCloseCodes.commandTimeout, `subscribe to ${sub.topic} timed out`);
          return;
        }
        if (isTransient(err.code)) {
          sub.retrying(err);
          const attempt = this.subscribeRetries.get(sub) ?? 0;
          this.subscribeRetries.set(sub, attempt + 1);
          setTimeout(() => {
            if (this.subscriptions.get(sub.topic) === sub && this.connection === connection) this.sendSubscribe(sub, connection);
          }, fullJitterDelay(attempt, this.minDelay, this.maxDelay, this.random));
          return;
        }
        this.dropSubscription(sub, err);
      },
    );
  }

  /** @internal Called by Subscription.unsubscribe(). */
  async removeSubscription(sub: Subscription<any>): Promise<void> {
    if (this.subscriptions.get(sub.topic) !== sub) return;
    this.dropSubscription(sub, undefined);
    const connection = this.connection;
    if (this.currentState === 'connected' && connection) {
      try {
        await connection.request({ op: 'unsub', topic: sub.topic }, this.timeout);
      } catch {
        // Gone with the connection, which took the server-side subscription with it.
      }
    }
  }

  private dropSubscription(sub: Subscription<any>, error: HeraldClientError | undefined, reason?: string): void {
    if (this.subscriptions.get(sub.topic) === sub) this.subscriptions.delete(sub.topic);
    this.wildcards.delete(sub);
    this.subscribeRetries.delete(sub);
    sub.end(error, reason);
  }

  // ------------------------------------------------------------------ inbound

  private receive(message: Push): void {
    const { op } = message;
    if (op === 'msg' || op === 'join' || op === 'leave') {
      const topic = message.topic as string;
      const exact = this.subscriptions.get(topic);
      const deliver = (sub: Subscription<any>): void => {
        if (op === 'msg') sub.deliver(message);
        else if (sub.options.presence) sub.presenceEvent(message);
      };
      // A session receives a publication once however many of its subscriptions match it;
      // the client hands it to each of them.
      let delivered = exact !== undefined;
      if (exact) deliver(exact);
      for (const sub of this.wildcards) if (matches(sub.topic, topic)) { deliver(sub); delivered = true; }
      if (!delivered && op === 'msg' && this.serverTopics.size > 0) {
        for (const t of this.serverTopics) {
          if (!matches(t, topic)) continue;
          const m: Message<unknown> = { topic, data: message.data };
          if (typeof message.offset === 'number' && typeof message.epoch === 'string') { m.offset = message.offset; m.epoch = message.epoch; }
          this.emit('message', m);
          break;
        }
      }
      return;
    }
    if (op === 'sub') {
      // Subscribed by the application: it lives as long as this connection.
      const topic = message.topic as string;
      this.serverTopics.add(topic);
      const position = typeof message.offset === 'number' && typeof message.epoch === 'string' ? { offset: message.offset, epoch: message.epoch } : undefined;
      this.emit('serverSubscribed', { topic, position });
      return;
    }
    if (op === 'unsub' && message.reason !== 'gap') {
      // Dropped for good (reason `server`: the application; `forbidden`): do not subscribe again.
      const topic = message.topic as string;
      const reason = String(message.reason);
      const sub = this.subscriptions.get(topic);
      if (sub) this.dropSubscription(sub, reason === 'forbidden' ? new HeraldClientError('forbidden', `${topic}: no longer allowed`) : undefined, reason);
      if (this.serverTopics.delete(topic) || !sub) this.emit('serverUnsubscribed', { topic, reason });
      return;
    }
    if (op === 'unsub') {
      // The server dropped the subscription because publications may have been missed (reason
      // `gap`): subscribe again with `since`; `subscribed` then says whether anything is missing.
      const sub = this.subscriptions.get(message.topic as string);
      const connection = this.connection;
      if (sub && connection && this.currentState === 'connected') {
        sub.connectionLost();
        this.sendSubscribe(sub, connection);
      }
      return;
    }
    if (op === 'reset') {
      // SSE fallback: a reopened stream could not resume these topics: say so, as a resubscribe would.
      for (const topic of message.topics as string[]) {
        const sub = this.subscriptions.get(topic);
        if (sub) sub.subscribed({}, sub.position ?? { offset: 0, epoch: '' });
      }
      return;
    }
    if (op === 'error') {
      const error = message.error as { code?: string; message?: string } | undefined;
      this.emit('error', new HeraldClientError((error?.code ?? 'internal') as HeraldClientError['code'], error?.message ?? 'server error'));
    }
  }

  private whenConnected(): Promise<void> {
    if (this.currentState === 'connected') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const offOk = this.once('connected', () => { offStop(); resolve(); });
      const offStop = this.once('disconnected', (e) => {
        offOk();
        reject(e.error ?? new HeraldClientError('closed', 'client closed before it connected'));
      });
    });
  }

  private setState(state: ClientState): void {
    const previous = this.currentState;
    if (previous === state) return;
    this.currentState = state;
    this.emit('state', state, previous);
  }
}
