/**
 * A session is one client connection as the core sees it: its principal, its subscriptions, and its
 * two sides, as ws's Receiver and Sender are a WebSocket's: inbound (session-inbound.ts: rates and
 * the ordered command queue, handing commands to session-commands.ts) and outbound
 * (session-outbound.ts: the queue written once per event-loop turn). This file ties them together
 * and owns the lifecycle (docs/architecture.md).
 */
import type { Connection, Encoder, Handshake, Principal, ReplyHandler, SessionHandle } from './contracts.js';
import { CloseCodes, HeraldError } from './errors.js';
import type { ReplyTo, SessionHost, SessionState, Settled, Subscription } from './session-host.js';
import type { Position, Reply, ServerMessage, UnsubReason } from './protocol.js';
import type { Publication } from './publication.js';
import { Outbound, type OutboundOwner } from './session-outbound.js';
import { Inbound, type InboundOwner } from './session-inbound.js';
import { dispatch, fail, refusalReason } from './session-commands.js';
import { ServerSubscribe } from './session-subscribe.js';

const ANONYMOUS: Principal = Object.freeze({ user: null });
const NO_HEADERS = Object.freeze({});
const NO_QUERY = new URLSearchParams();
/** Live publications held for one recovering subscription before the client counts as a slow consumer. */
const MAX_RECOVERY_BUFFER = 10_000;

export class Session implements SessionHandle, SessionState<Session>, InboundOwner, OutboundOwner {
  readonly id: string;
  /** What the client presented. Headers and query are kept only while an authenticate hook may need them (see start()). */
  handshake: Handshake;
  readonly transport: string;
  /** Undefined until authenticated (only while an authenticate hook is configured). */
  principal: Principal | undefined;
  readonly subscriptions = new Map<string, Subscription>();
  readonly outbound: Outbound;
  /** Subscriptions whose live publications wait in their buffer while they recover (session-subscribe.ts). */
  recovering = 0;
  // The command side's state (session-commands.ts, session-subscribe.ts), kept here so that a
  // connection holds no object of theirs.
  publishesInFlight = 0;
  publishReplies: Promise<void> | undefined;
  protocolErrors = 0;
  settled: Settled[] | undefined;

  readonly host: SessionHost<Session>;
  private readonly connection: Connection;
  private readonly inbound: Inbound;
  private closed = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  private authTimer: NodeJS.Timeout | undefined;

  constructor(host: SessionHost<Session>, id: string, connection: Connection, encoder: Encoder, handshake: Handshake) {
    this.host = host;
    this.id = id;
    this.connection = connection;
    this.outbound = new Outbound(connection, encoder, host.turn, host.limits.outboundBytes, this);
    this.handshake = handshake;
    this.transport = handshake.transport;
    this.inbound = new Inbound(host.limits, host.rates, handshake.remoteAddress, this);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Runs the authenticate hook on the handshake; commands wait until it settles. Without the hook
   * nothing reads the handshake again after the 'connect' event, so its headers and query are let
   * go (about half a kilobyte per idle connection).
   */
  start(): void {
    if (!this.host.hasAuthenticate) {
      this.principal = ANONYMOUS;
      const { transport, remoteAddress } = this.handshake;
      this.handshake = { transport, remoteAddress, headers: NO_HEADERS, query: NO_QUERY };
      return;
    }
    this.inbound.hold(this.authenticate(this.handshake)
      .then((principal) => {
        if (principal !== null) this.setPrincipal(principal);
        else if (this.handshake.canSendAuth === false) this.close(CloseCodes.unauthorized, 'credentials required');
        else if (!this.closed) {
          this.authTimer = setTimeout(() => this.close(CloseCodes.unauthorized, 'authentication timeout'), this.host.limits.authTimeout);
          this.authTimer.unref();
        }
      }, (err: unknown) => {
        this.host.authFailed();
        this.close(CloseCodes.unauthorized, refusalReason(err, 'unauthorized'));
      }));
  }

  // ------------------------------------------------------------------ inbound

  /**
   * Feeds one decoded client message (any value: it is validated here). With `onReply` its reply goes
   * to the callback instead of through the encoder (contracts.ts ReplyHandler).
   */
  handle(raw: unknown, onReply?: ReplyHandler): void {
    if (!this.closed) this.inbound.handle(raw, onReply);
  }

  /** Reports an inbound frame the transport could not decode (counts as a protocol error). */
  reject(error: HeraldError): void {
    if (!this.closed) this.fail(undefined, error);
  }

  /**
   * Subscribes this connection on the application's behalf (broker.subscribe): queued behind the
   * client's commands, not authorized (like Socket.IO's socket.join), announced with a
   * `{op:'sub', topic, reason:'server'}` push before its publications. A connection already
   * subscribed to it is left as it is; one at its subscription limit gets a `limit_exceeded` error push.
   */
  serverSubscribe(pattern: string, since: Position | undefined): void {
    if (this.closed) return;
    this.inbound.enqueue(new ServerSubscribe(since === undefined ? { op: 'sub', topic: pattern, server: true } : { op: 'sub', topic: pattern, since, server: true }));
  }

  /** InboundOwner: runs one admitted command (session-commands.ts). */
  dispatch(raw: unknown, onReply: ReplyHandler | undefined): void | Promise<void> {
    return dispatch(this, raw, onReply);
  }

  /** InboundOwner: answers a refused or failed command. */
  fail(to: ReplyTo, err: unknown): void {
    fail(this, to, err);
  }

  nextCommand(): unknown {
    return this.inbound.peek();
  }

  /** Throws `forbidden` unless the authorize hook allows it (SessionState). */
  async authorize(action: 'subscribe' | 'publish' | 'presence' | 'history', topic: string): Promise<void> {
    if (!(await this.host.authorize(this.principal!, action, topic))) {
      throw new HeraldError('forbidden', `${action} is not allowed on ${topic}`);
    }
  }

  async authenticate(handshake: Handshake): Promise<Principal | null> {
    return this.host.hasAuthenticate ? await this.host.authenticate(handshake) : ANONYMOUS;
  }

  setPrincipal(principal: Principal): void {
    if (this.closed) return;
    this.principal = principal;
    this.inbound.chargeTo(principal, this.handshake.remoteAddress);
    clearTimeout(this.authTimer);
    clearTimeout(this.expiryTimer);
    if (principal.expiresAt !== undefined) {
      // setTimeout caps at ~24.8 days; longer expiries are re-armed by the next auth anyway.
      const ms = Math.min(Math.max(principal.expiresAt - Date.now(), 0), 2 ** 31 - 1);
      this.expiryTimer = setTimeout(() => this.close(CloseCodes.unauthorized, 'token expired'), ms);
      this.expiryTimer.unref();
    }
  }

  /**
   * Publications on `pattern` may have been missed upstream: drops the subscription and tells the
   * client (`{op:'unsub', topic, reason:'gap'}`), which resubscribes with `since`. A subscription
   * still being set up is dropped right after its reply, so the client sees reply, then unsub.
   * Returns true when a subscription was (or will be) dropped.
   */
  gap(pattern: string): boolean {
    return this.drop(pattern, 'gap');
  }

  /** gap() for each of this session's subscriptions on one of `patterns`; returns how many were dropped. */
  gaps(patterns: ReadonlySet<string>): number {
    let dropped = 0;
    for (const pattern of [...this.subscriptions.keys()]) if (patterns.has(pattern) && this.gap(pattern)) dropped++;
    return dropped;
  }

  /**
   * Drops the subscription of `pattern` and tells the client why (`{op:'unsub', topic, reason}`,
   * UnsubReasons). A subscription still being set up is dropped right after its reply. Returns true
   * when a subscription was (or will be) dropped.
   */
  drop(pattern: string, reason: UnsubReason): boolean {
    const sub = this.subscriptions.get(pattern);
    if (sub === undefined || this.closed) return false;
    if (sub.buffer !== undefined) {
      sub.dropped = reason;
      return true;
    }
    this.subscriptions.delete(pattern);
    this.send({ op: 'unsub', topic: pattern, reason });
    this.host.unsubscribe(this, sub).catch((err: unknown) => this.host.logger.warn({ err, session: this.id, reason }, 'unsubscribe by the server failed'));
    return true;
  }

  // ------------------------------------------------------------------ outbound

  /** Queues a publication for this client (called by the broker's fan-out); false when it was not (closed, unencodable). */
  push(pub: Publication): boolean {
    if (this.closed) return false;
    if (this.recovering !== 0) {
      const sub = this.subscriptions.get(pub.topic);
      if (sub?.buffer) {
        if (sub.buffer.length >= MAX_RECOVERY_BUFFER) {
          this.host.slowConsumer(this, sub.buffer.length + 1);
          this.close(CloseCodes.slowConsumer, 'slow consumer');
          return false;
        }
        sub.buffer.push(pub);
        return true;
      }
    }
    const chunk = this.outbound.publication(pub);
    if (chunk === undefined) return false;
    this.outbound.enqueue(chunk);
    return true;
  }

  /** Queues a protocol message (reply, presence event, error) for this client. */
  send(message: ServerMessage): void {
    if (!this.closed) this.outbound.enqueue(this.outbound.encode(message));
  }

  /**
   * A command's reply: on the wire under the client's id, or to the transport's callback once what
   * was queued before it is written (a socket.io ack must not overtake earlier frames); what the
   * callback returns takes the reply's place in the queue.
   */
  answer(to: ReplyTo, reply: Reply): void {
    if (to === undefined || this.closed) return;
    if (typeof to === 'number') {
      this.send({ id: to, ...reply } as ServerMessage);
      return;
    }
    this.outbound.write();
    const chunk = to(reply);
    if (chunk !== undefined && !this.closed) this.outbound.enqueue(chunk);
  }

  /** OutboundOwner: over the byte cap, the queue was dropped. */
  overflowed(dropped: number): void {
    this.host.slowConsumer(this, dropped);
    this.close(CloseCodes.slowConsumer, 'slow consumer');
  }

  /** OutboundOwner: this connection's encoder could not encode `pub`. */
  unencodable(pub: Publication, err: unknown): void {
    this.host.encodeFailed(this, pub, err);
  }

  // ------------------------------------------------------------------ lifecycle

  /** Server-side close: flushes what is queued, closes the connection with `code`, frees the session. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    this.outbound.write();
    this.closed = true;
    this.connection.close(code, reason);
    this.release(code);
  }

  /** The transport reports that the connection is gone. */
  disconnected(code = 1006): void {
    if (this.closed) return;
    this.closed = true;
    this.release(code);
  }

  private release(code: number): void {
    clearTimeout(this.expiryTimer);
    clearTimeout(this.authTimer);
    this.outbound.clear();
    this.inbound.clear();
    const subscriptions = [...this.subscriptions.values()];
    this.subscriptions.clear();
    this.host.removed(this, code, subscriptions);
  }
}
