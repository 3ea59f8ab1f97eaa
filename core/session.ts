/**
 * A session is one client connection as the core sees it: its principal, its subscriptions, the
 * commands it sends (processed in order; publishes are pipelined, other commands that wait on I/O
 * hold the ones behind them) and its outbound queue, flushed once per event-loop turn (docs/architecture.md).
 */
import type { Connection, Encoder, Handshake, Principal, ReplyHandler, SessionHandle } from './contracts.js';
import { CloseCodes, HeraldError, toHeraldError } from './errors.js';
import type { SessionHost, SubscribeOutcome, Subscription } from './session-host.js';
import { commandId, parseCommand, type Command, type Position, type Reply, type ServerMessage, type UnsubReason } from './protocol.js';
import type { Chunk, Publication } from './publication.js';
import { TokenBucket } from './limits/token-bucket.js';
import { Outbound, type OutboundOwner } from './session-outbound.js';

/** A subscribe whose history is read, waiting to be answered with the others of its batch. */
interface Settled {
  readonly sub: Subscription;
  readonly since: Position | undefined;
  readonly to: ReplyTo;
  readonly outcome: SubscribeOutcome;
  /** Made by the application (broker.subscribe): announced with a `sub` push instead of a reply. */
  readonly server: boolean;
}

/** A `sub` the application made for this connection (broker.subscribe): no authorize, a push instead of a reply. */
type SubCommand = Extract<Command, { op: 'sub' }> & { server?: boolean };
/** Marks a server-side subscribe queued among the client's commands (it never went through parseCommand). */
class ServerSubscribe {
  constructor(readonly command: SubCommand) {}
}

/** Where a command's reply goes: the wire under the client's id, a transport's callback, or nowhere. */
type ReplyTo = number | ReplyHandler | undefined;

/** A command fed with a reply callback (handle(raw, onReply)): its reply goes to the callback, not through the encoder. */
class WithReply {
  constructor(readonly raw: unknown, readonly onReply: ReplyHandler) {}
}

/** Is this raw command a `sub` with `since` (one more recovery to answer together)? */
function isRecovery(entry: unknown): boolean {
  const raw = entry instanceof WithReply ? entry.raw : entry;
  return typeof raw === 'object' && raw !== null && (raw as { op?: unknown }).op === 'sub' && (raw as { since?: unknown }).since !== undefined;
}

/** Publish order across topics: the adapter's sequence when it has one, else the offset. */
const byPosition = (a: Publication, b: Publication): number => (a.sequence ?? a.offset ?? 0) - (b.sequence ?? b.offset ?? 0);

const ANONYMOUS: Principal = Object.freeze({ user: null });
const NO_COMMANDS = Object.freeze([]) as unknown as unknown[];
const NO_HEADERS = Object.freeze({});
const NO_QUERY = new URLSearchParams();
/** Live publications held for one recovering subscription before the client counts as a slow consumer. */
const MAX_RECOVERY_BUFFER = 10_000;
/** A second without a rate_limited reply forgives earlier strikes. */
const STRIKE_MEMORY_MS = 1000;

/**
 * What a client is told when its credentials are refused: the message of a HeraldError
 * ('unauthorized') the authenticate hook threw on purpose (as the HTTP API does), else nothing
 * about why (any other error may carry internals). Cut to fit a WebSocket close reason (123 bytes).
 */
function refusalReason(err: unknown, otherwise: string): string {
  if (!(err instanceof HeraldError) || err.code !== 'unauthorized' || err.message === '') return otherwise;
  const reason = Buffer.from(err.message).subarray(0, 120).toString();
  return reason.endsWith('\uFFFD') ? reason.slice(0, -1) : reason;
}

export class Session implements SessionHandle, OutboundOwner {
  readonly id: string;
  /** What the client presented. Headers and query are kept only while an authenticate hook may need them (see start()). */
  handshake: Handshake;
  readonly transport: string;
  /** Undefined until authenticated (only while an authenticate hook is configured). */
  principal: Principal | undefined;
  readonly subscriptions = new Map<string, Subscription>();

  private readonly host: SessionHost<Session>;
  private readonly connection: Connection;
  private readonly outbound: Outbound;
  private recovering = 0;
  private busy = false;
  /** Publishes handed to the broker and not yet answered, and the chain that answers them in order. */
  private inFlight = 0;
  private replies: Promise<void> | undefined;
  /** Commands waiting while a command runs; an empty array is shared until something waits. */
  private pending: unknown[] = NO_COMMANDS;
  private pendingHead = 0;
  private protocolErrors = 0;
  /** Subscribes answered together (see answerSubscribes); undefined when none waits. */
  private settled: Settled[] | undefined;
  private closed = false;
  private expiryTimer: NodeJS.Timeout | undefined;
  private authTimer: NodeJS.Timeout | undefined;
  /** Commands per second (limits.messageRate / messageBurst), checked before anything else. */
  private readonly rate: TokenBucket;
  /** Whom this session's commands are charged to (host.rates); follows the principal. */
  private rateKey: string | undefined;
  private strikes = 0;
  private lastStrike = 0;

  constructor(host: SessionHost<Session>, id: string, connection: Connection, encoder: Encoder, handshake: Handshake) {
    this.host = host;
    this.id = id;
    this.connection = connection;
    this.outbound = new Outbound(connection, encoder, host.turn, host.limits.outboundBytes, this);
    this.handshake = handshake;
    this.transport = handshake.transport;
    this.rate = new TokenBucket(host.limits.messageRate, host.limits.messageBurst);
    this.rateKey = host.rates.keyOf(undefined, handshake.remoteAddress);
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
    this.busy = true;
    this.authenticate(this.handshake)
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
      })
      .finally(() => this.resume());
  }

  // ------------------------------------------------------------------ inbound

  /**
   * Feeds one decoded client message (any value: it is validated here). With `onReply` its reply goes
   * to the callback instead of through the encoder (contracts.ts ReplyHandler).
   */
  handle(raw: unknown, onReply?: ReplyHandler): void {
    if (this.closed) return;
    if (!this.rate.take()) {
      this.rateLimited(onReply ?? commandId(raw), `over ${this.host.limits.messageRate} commands per second`);
      return;
    }
    if (!this.host.rates.take(this.rateKey)) {
      this.rateLimited(onReply ?? commandId(raw), `over ${this.host.limits.principalRate} commands per second for this ${this.principal?.user ? 'user' : 'address'}`);
      return;
    }
    if (this.busy) {
      if (this.pending.length - this.pendingHead >= this.host.limits.pendingCommands) {
        this.fail(onReply ?? commandId(raw), new HeraldError('rate_limited', 'too many commands waiting'));
        return;
      }
      const entry = onReply === undefined ? raw : new WithReply(raw, onReply);
      if (this.pending === NO_COMMANDS) this.pending = [entry];
      else this.pending.push(entry);
      return;
    }
    this.run(raw, onReply);
  }

  /** Reports an inbound frame the transport could not decode (counts as a protocol error). */
  reject(error: HeraldError): void {
    if (!this.closed) this.fail(undefined, error);
  }

  /** Refuses a command over the rate; a client that keeps going without a calm second is closed with 4029. */
  private rateLimited(to: ReplyTo, why: string): void {
    const now = performance.now();
    if (now - this.lastStrike > STRIKE_MEMORY_MS) this.strikes = 0;
    this.lastStrike = now;
    if (++this.strikes >= this.host.limits.rateLimitStrikes) {
      this.close(CloseCodes.rateLimited, 'rate limited');
      return;
    }
    this.fail(to, new HeraldError('rate_limited', why));
  }

  private run(raw: unknown, onReply?: ReplyHandler): void {
    if (this.settled !== undefined && !isRecovery(raw)) this.answerSubscribes();
    let result: void | Promise<void>;
    let to: ReplyTo = onReply;
    try {
      const cmd = raw instanceof ServerSubscribe ? raw.command : parseCommand(raw);
      to ??= cmd.id;
      result = this.execute(cmd, to);
    } catch (err) {
      this.fail(to ?? commandId(raw), err);
      return;
    }
    if (result !== undefined) {
      this.busy = true;
      result.catch((err: unknown) => this.fail(to, err)).finally(() => this.resume());
    }
  }

  private resume(): void {
    this.busy = false;
    while (!this.busy && !this.closed && this.pendingHead < this.pending.length) {
      const next = this.pending[this.pendingHead];
      this.pending[this.pendingHead++] = undefined;
      if (next instanceof WithReply) this.run(next.raw, next.onReply);
      else this.run(next);
    }
    if (this.pendingHead === this.pending.length) {
      this.pending = NO_COMMANDS;
      this.pendingHead = 0;
    }
  }

  private fail(to: ReplyTo, err: unknown): void {
    if (this.closed) return;
    this.answerSubscribes();
    const error = toHeraldError(err);
    if (error.code === 'internal') this.host.limitedLog.error({ err, session: this.id }, 'command failed');
    if (to === undefined) this.send({ op: 'error', error: error.toJSON() });
    else this.answer(to, { ok: false, error: error.toJSON() });
    if (error.code === 'bad_request' || error.code === 'invalid_topic') {
      if (++this.protocolErrors >= this.host.limits.protocolErrors) this.close(CloseCodes.protocolViolation, 'too many protocol errors');
    }
  }

  private execute(cmd: Command, to: ReplyTo): void | Promise<void> {
    if (this.principal === undefined && cmd.op !== 'auth' && cmd.op !== 'ping') {
      throw new HeraldError('unauthorized', 'authenticate first');
    }
    switch (cmd.op) {
      case 'ping':
        this.answer(to, { ok: true });
        return;
      case 'pub':
        return this.publish(to, cmd.topic, cmd.data);
      case 'sub':
        return this.subscribe(cmd, to);
      case 'unsub':
        return this.unsubscribe(to, cmd.topic);
      case 'auth':
        return this.auth(to, cmd.token);
      case 'presence':
        return this.presence(to, cmd.topic);
      case 'history':
        return this.history(cmd, to);
    }
  }

  private async authorize(action: 'subscribe' | 'publish' | 'presence' | 'history', topic: string): Promise<void> {
    if (!(await this.host.authorize(this.principal!, action, topic))) {
      throw new HeraldError('forbidden', `${action} is not allowed on ${topic}`);
    }
  }

  /**
   * Publishes are pipelined: the broker (and so the adapter) gets each one at once, in order, and the
   * next command does not wait for the previous publish to be acknowledged (a JetStream ack is a
   * network round trip). Replies still go out in publish order. Past `limits.pendingCommands`
   * publishes in flight, the session waits for them before reading further commands.
   */
  private publish(to: ReplyTo, topic: string, data: unknown): void | Promise<void> {
    if (this.host.hasAuthorize) {
      const allowed = this.host.authorize(this.principal!, 'publish', topic);
      // An async decision could reorder publishes if pipelined: this one waits, like other commands.
      if (allowed instanceof Promise) return this.publishWhenAllowed(allowed, to, topic, data);
      if (!allowed) throw new HeraldError('forbidden', `publish is not allowed on ${topic}`);
    }
    const result = this.host.publish(topic, data);
    // It may be refused (unavailable) before earlier replies are out: the chain below answers it in turn.
    result.catch(() => undefined);
    this.inFlight++;
    this.replies = (this.replies ?? Promise.resolve())
      .then(() => result)
      .then(
        (position) => this.answer(to, { ok: true, ...position }),
        (err: unknown) => this.fail(to, err),
      )
      .finally(() => {
        // At zero this link is the chain's tail (a new publish would have counted first): drop it.
        if (--this.inFlight === 0) this.replies = undefined;
      });
    if (this.inFlight >= this.host.limits.pendingCommands) return this.replies;
  }

  private async publishWhenAllowed(allowed: Promise<boolean>, to: ReplyTo, topic: string, data: unknown): Promise<void> {
    if (!(await allowed)) throw new HeraldError('forbidden', `publish is not allowed on ${topic}`);
    await this.replies; // earlier pipelined publishes answer first
    const result = await this.host.publish(topic, data);
    this.answer(to, { ok: true, ...result });
  }

  /**
   * Subscribes this connection on the application's behalf (broker.subscribe): queued behind the
   * client's commands, not authorized (like Socket.IO's socket.join), announced with a
   * `{op:'sub', topic, reason:'server'}` push before its publications. A connection already
   * subscribed to it is left as it is; one at its subscription limit gets a `limit_exceeded` error push.
   */
  serverSubscribe(pattern: string, since: Position | undefined): void {
    if (this.closed) return;
    const command = new ServerSubscribe(since === undefined ? { op: 'sub', topic: pattern, server: true } : { op: 'sub', topic: pattern, since, server: true });
    if (this.busy) {
      if (this.pending === NO_COMMANDS) this.pending = [command];
      else this.pending.push(command);
    } else this.run(command);
  }

  private async subscribe(cmd: SubCommand, to: ReplyTo): Promise<void> {
    const { topic } = cmd;
    const server = cmd.server === true;
    if (this.subscriptions.has(topic)) {
      this.answerSubscribes();
      this.answer(to, { ok: true });
      return;
    }
    if (this.subscriptions.size >= this.host.limits.maxSubscriptions) {
      throw new HeraldError('limit_exceeded', `at most ${this.host.limits.maxSubscriptions} subscriptions per connection`);
    }
    if (this.host.hasAuthorize && !server) await this.authorize('subscribe', topic);
    if (this.closed) return;
    if (this.subscriptions.has(topic)) {
      this.answerSubscribes();
      this.answer(to, { ok: true });
      return;
    }
    const literal = !topic.includes('*') && !topic.includes('>');
    const sub: Subscription = { pattern: topic, literal, presence: cmd.presence === true, buffer: literal ? [] : undefined };
    if (sub.buffer) this.recovering++;
    this.subscriptions.set(topic, sub);
    let outcome: SubscribeOutcome;
    try {
      outcome = await this.host.subscribe(this, sub, cmd.since);
    } catch (err) {
      if (sub.buffer) this.recovering--;
      sub.buffer = undefined;
      if (this.subscriptions.get(topic) === sub) {
        this.subscriptions.delete(topic);
        await this.host.unsubscribe(this, sub).catch(() => undefined);
      }
      throw err;
    }
    (this.settled ??= []).push({ sub, since: cmd.since, to, outcome, server });
    // Recoveries sent back to back (a client resubscribing after a reconnect, an SSE stream of
    // several topics) are answered together, so that their replays interleave in publish order.
    if (!isRecovery(this.pending[this.pendingHead])) this.answerSubscribes();
  }

  /**
   * One synchronous block: the replayed publications of every settled subscribe (interleaved by
   * position across topics), then the replies in command order, then whatever arrived live
   * meanwhile (minus duplicates); no publication can slip in between.
   */
  private answerSubscribes(): void {
    const settled = this.settled;
    if (settled === undefined) return;
    this.settled = undefined;
    if (this.closed) return;
    let replay: Publication[] = [];
    for (const s of settled) if (s.outcome.replay.length > 0) replay = replay.concat(s.outcome.replay);
    if (settled.length > 1) replay.sort(byPosition);
    // Server-side subscriptions are announced before their publications (a client learns of them here).
    for (const { sub, since, outcome, server } of settled) {
      if (!server) continue;
      const push: Extract<ServerMessage, { op: 'sub' }> = { op: 'sub', topic: sub.pattern, reason: 'server' };
      if (outcome.position) { push.offset = outcome.position.offset; push.epoch = outcome.position.epoch; }
      if (since !== undefined) push.recovered = outcome.recovered;
      this.send(push);
    }
    let replayed = false;
    /** Topics whose replay this encoder could not encode in full: they are not recovered. */
    let unencodable: Set<string> | undefined;
    if (replay.length > 0) {
      const chunks: Chunk[] = [];
      for (const pub of replay) {
        const chunk = this.outbound.publication(pub);
        if (chunk === undefined) (unencodable ??= new Set()).add(pub.topic);
        else chunks.push(chunk);
      }
      // A backlog bigger than the outbound cap would trip 4008, and the client would reconnect to
      // recover the same backlog forever: say recovered:false instead, so it reloads its state.
      replayed = this.outbound.fits(chunks);
      if (replayed) for (const chunk of chunks) this.outbound.enqueue(chunk);
    }
    for (const { sub, since, to, outcome } of settled) {
      let last = since;
      let recovered = outcome.recovered;
      if (unencodable?.has(sub.pattern)) recovered = false;
      if (outcome.replay.length > 0) {
        if (replayed) {
          const newest = outcome.replay[outcome.replay.length - 1]!;
          last = { offset: newest.offset!, epoch: newest.epoch! };
        } else recovered = false;
      }
      if (to !== undefined) {
        const reply: Reply & Record<string, unknown> = { ok: true };
        if (outcome.position) { reply.offset = outcome.position.offset; reply.epoch = outcome.position.epoch; }
        if (since !== undefined) reply.recovered = recovered;
        this.answer(to, reply);
      }
      if (since !== undefined) this.host.recovery(recovered);
      // Live copies at or before the position just announced are older than it (over NATS one
      // published just before can arrive after the subscription holds): they are dropped below.
      sub.last = recovered ? last : outcome.position;
    }
    for (const { sub } of settled) {
      const buffered = sub.buffer;
      if (buffered) {
        sub.buffer = undefined;
        this.recovering--;
        const after = sub.last;
        for (const pub of buffered) {
          if (after && pub.epoch === after.epoch && pub.offset !== undefined && pub.offset <= after.offset) continue;
          this.push(pub);
        }
      }
      sub.last = undefined;
      const dropped = sub.dropped;
      if (dropped !== undefined) {
        sub.dropped = undefined;
        this.drop(sub.pattern, dropped);
      }
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

  private async unsubscribe(to: ReplyTo, topic: string): Promise<void> {
    const sub = this.subscriptions.get(topic);
    if (sub) {
      this.subscriptions.delete(topic);
      if (sub.buffer) { sub.buffer = undefined; this.recovering--; }
      await this.host.unsubscribe(this, sub);
    }
    this.answer(to, { ok: true });
  }

  private async auth(to: ReplyTo, token: string): Promise<void> {
    let principal: Principal | null;
    let refusal: unknown;
    try {
      principal = await this.authenticate({ ...this.handshake, token });
    } catch (err) {
      principal = null;
      refusal = err;
    }
    if (principal === null) {
      this.host.authFailed();
      this.fail(to, new HeraldError('unauthorized', refusalReason(refusal, 'invalid credentials')));
      this.close(CloseCodes.unauthorized, refusalReason(refusal, 'unauthorized'));
      return;
    }
    const previous = this.principal;
    if (previous !== undefined && previous.user !== null && previous.user !== principal.user) {
      // A refresh re-authenticates the same user; another user's token would inherit this session
      // (an anonymous session signing in is a login, and is re-authorized below all the same).
      this.host.authFailed();
      this.fail(to, new HeraldError('unauthorized', 'a refreshed token must name the same user'));
      this.close(CloseCodes.unauthorized, 'token names another user');
      return;
    }
    this.setPrincipal(principal);
    if (previous !== undefined && this.host.hasAuthorize) await this.reauthorize(principal);
    this.answer(to, { ok: true, client: this.id, user: principal.user });
  }

  /**
   * After a refresh every subscription (and so its presence entry) must still be granted by the new
   * token: those that are not are dropped with `{op:'unsub', topic, reason:'forbidden'}`.
   */
  private async reauthorize(principal: Principal): Promise<void> {
    const subs = [...this.subscriptions.values()];
    const allowed = await Promise.all(subs.map(async (sub) => {
      try {
        return await this.host.authorize(principal, 'subscribe', sub.pattern);
      } catch {
        return false; // a failing hook grants nothing
      }
    }));
    if (this.closed || this.principal !== principal) return;
    subs.forEach((sub, i) => {
      if (!allowed[i] && this.subscriptions.get(sub.pattern) === sub) this.drop(sub.pattern, 'forbidden');
    });
  }

  private async authenticate(handshake: Handshake): Promise<Principal | null> {
    return this.host.hasAuthenticate ? await this.host.authenticate(handshake) : ANONYMOUS;
  }

  private setPrincipal(principal: Principal): void {
    if (this.closed) return;
    this.principal = principal;
    this.rateKey = this.host.rates.keyOf(principal, this.handshake.remoteAddress);
    clearTimeout(this.authTimer);
    clearTimeout(this.expiryTimer);
    if (principal.expiresAt !== undefined) {
      // setTimeout caps at ~24.8 days; longer expiries are re-armed by the next auth anyway.
      const ms = Math.min(Math.max(principal.expiresAt - Date.now(), 0), 2 ** 31 - 1);
      this.expiryTimer = setTimeout(() => this.close(CloseCodes.unauthorized, 'token expired'), ms);
      this.expiryTimer.unref();
    }
  }

  private async presence(to: ReplyTo, topic: string): Promise<void> {
    if (this.host.hasAuthorize) await this.authorize('presence', topic);
    const clients = await this.host.presence(topic);
    this.answer(to, { ok: true, clients });
  }

  private async history(cmd: Extract<Command, { op: 'history' }>, to: ReplyTo): Promise<void> {
    if (this.host.hasAuthorize) await this.authorize('history', cmd.topic);
    const result = await this.host.history(cmd.topic, { since: cmd.since, limit: cmd.limit });
    if (to === undefined) return;
    const reply: Reply & Record<string, unknown> = {
      ok: true,
      messages: result.publications.map((p) => p.message()),
      offset: result.position.offset, epoch: result.position.epoch,
    };
    if (cmd.since !== undefined) reply.recovered = result.recovered;
    if (typeof to !== 'number') {
      this.answer(to, reply);
      return;
    }
    const chunk = this.outbound.encode({ id: to, ...reply });
    if (!this.outbound.fits([chunk])) throw new HeraldError('too_large', 'the history reply would exceed the outbound byte cap: ask with a smaller limit');
    this.outbound.enqueue(chunk);
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
  private answer(to: ReplyTo, reply: Reply): void {
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
    this.pending = NO_COMMANDS;
    const subscriptions = [...this.subscriptions.values()];
    this.subscriptions.clear();
    this.host.removed(this, code, subscriptions);
  }
}
