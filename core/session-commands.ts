/**
 * What a session's commands do, once the inbound side (session-inbound.ts) has admitted them:
 * parsed, checked against the principal, carried out through the host, and answered. Publishes are
 * pipelined; `sub` lives in session-subscribe.ts; a failure is answered under the command's id and
 * counts toward the protocol-error limit when it was the client's fault.
 */
import type { Handshake, Principal, ReplyHandler } from './contracts.js';
import { CloseCodes, HeraldError, toHeraldError } from './errors.js';
import { commandId, parseCommand, type Command, type Reply } from './protocol.js';
import type { InboundOwner } from './session-inbound.js';
import type { ReplyTo, SessionHost, SessionState } from './session-host.js';
import { isRecovery, ServerSubscribe, SessionSubscribes } from './session-subscribe.js';

/**
 * What a client is told when its credentials are refused: the message of a HeraldError
 * ('unauthorized') the authenticate hook threw on purpose (as the HTTP API does), else nothing
 * about why (any other error may carry internals). Cut to fit a WebSocket close reason (123 bytes).
 */
export function refusalReason(err: unknown, otherwise: string): string {
  if (!(err instanceof HeraldError) || err.code !== 'unauthorized' || err.message === '') return otherwise;
  const reason = Buffer.from(err.message).subarray(0, 120).toString();
  return reason.endsWith('\uFFFD') ? reason.slice(0, -1) : reason;
}

export class SessionCommands<S extends SessionState> implements InboundOwner {
  private readonly session: S;
  private readonly host: SessionHost<S>;
  private readonly subscribes: SessionSubscribes<S>;
  /** Publishes handed to the host and not yet answered, and the chain that answers them in order. */
  private inFlight = 0;
  private replies: Promise<void> | undefined;
  private protocolErrors = 0;

  constructor(session: S, host: SessionHost<S>, next: () => unknown) {
    this.session = session;
    this.host = host;
    this.subscribes = new SessionSubscribes(session, host, next);
  }

  get isClosed(): boolean {
    return this.session.isClosed;
  }

  close(code: number, reason: string): void {
    this.session.close(code, reason);
  }

  dispatch(raw: unknown, onReply: ReplyHandler | undefined): void | Promise<void> {
    if (this.subscribes.waiting && !isRecovery(raw)) this.subscribes.answer();
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
    if (result !== undefined) return result.catch((err: unknown) => this.fail(to, err));
  }

  fail(to: ReplyTo, err: unknown): void {
    const session = this.session;
    if (session.isClosed) return;
    this.subscribes.answer();
    const error = toHeraldError(err);
    if (error.code === 'internal') this.host.limitedLog.error({ err, session: session.id }, 'command failed');
    if (to === undefined) session.send({ op: 'error', error: error.toJSON() });
    else session.answer(to, { ok: false, error: error.toJSON() });
    if (error.code === 'bad_request' || error.code === 'invalid_topic') {
      if (++this.protocolErrors >= this.host.limits.protocolErrors) session.close(CloseCodes.protocolViolation, 'too many protocol errors');
    }
  }

  private execute(cmd: Command, to: ReplyTo): void | Promise<void> {
    if (this.session.principal === undefined && cmd.op !== 'auth' && cmd.op !== 'ping') {
      throw new HeraldError('unauthorized', 'authenticate first');
    }
    switch (cmd.op) {
      case 'ping':
        this.session.answer(to, { ok: true });
        return;
      case 'pub':
        return this.publish(to, cmd.topic, cmd.data);
      case 'sub':
        return this.subscribes.subscribe(cmd, to);
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

  /**
   * Publishes are pipelined: the host (and so the adapter) gets each one at once, in order, and the
   * next command does not wait for the previous publish to be acknowledged (a JetStream ack is a
   * network round trip). Replies still go out in publish order. Past `limits.pendingCommands`
   * publishes in flight, the session waits for them before reading further commands.
   */
  private publish(to: ReplyTo, topic: string, data: unknown): void | Promise<void> {
    const session = this.session;
    if (this.host.hasAuthorize) {
      const allowed = this.host.authorize(session.principal!, 'publish', topic);
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
        (position) => session.answer(to, { ok: true, ...position }),
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
    this.session.answer(to, { ok: true, ...result });
  }

  private async unsubscribe(to: ReplyTo, topic: string): Promise<void> {
    const session = this.session;
    const sub = session.subscriptions.get(topic);
    if (sub) {
      session.subscriptions.delete(topic);
      if (sub.buffer) { sub.buffer = undefined; session.recovering--; }
      await this.host.unsubscribe(session, sub);
    }
    session.answer(to, { ok: true });
  }

  private async auth(to: ReplyTo, token: string): Promise<void> {
    const session = this.session;
    let principal: Principal | null;
    let refusal: unknown;
    try {
      principal = await session.authenticate({ ...session.handshake, token } satisfies Handshake);
    } catch (err) {
      principal = null;
      refusal = err;
    }
    if (principal === null) {
      this.host.authFailed();
      this.fail(to, new HeraldError('unauthorized', refusalReason(refusal, 'invalid credentials')));
      session.close(CloseCodes.unauthorized, refusalReason(refusal, 'unauthorized'));
      return;
    }
    const previous = session.principal;
    if (previous !== undefined && previous.user !== null && previous.user !== principal.user) {
      // A refresh re-authenticates the same user; another user's token would inherit this session
      // (an anonymous session signing in is a login, and is re-authorized below all the same).
      this.host.authFailed();
      this.fail(to, new HeraldError('unauthorized', 'a refreshed token must name the same user'));
      session.close(CloseCodes.unauthorized, 'token names another user');
      return;
    }
    session.setPrincipal(principal);
    if (previous !== undefined && this.host.hasAuthorize) await this.reauthorize(principal);
    session.answer(to, { ok: true, client: session.id, user: principal.user });
  }

  /**
   * After a refresh every subscription (and so its presence entry) must still be granted by the new
   * token: those that are not are dropped with `{op:'unsub', topic, reason:'forbidden'}`.
   */
  private async reauthorize(principal: Principal): Promise<void> {
    const session = this.session;
    const subs = [...session.subscriptions.values()];
    const allowed = await Promise.all(subs.map(async (sub) => {
      try {
        return await this.host.authorize(principal, 'subscribe', sub.pattern);
      } catch {
        return false; // a failing hook grants nothing
      }
    }));
    if (session.isClosed || session.principal !== principal) return;
    subs.forEach((sub, i) => {
      if (!allowed[i] && session.subscriptions.get(sub.pattern) === sub) session.drop(sub.pattern, 'forbidden');
    });
  }

  private async presence(to: ReplyTo, topic: string): Promise<void> {
    if (this.host.hasAuthorize) await this.session.authorize('presence', topic);
    const clients = await this.host.presence(topic);
    this.session.answer(to, { ok: true, clients });
  }

  private async history(cmd: Extract<Command, { op: 'history' }>, to: ReplyTo): Promise<void> {
    const session = this.session;
    if (this.host.hasAuthorize) await session.authorize('history', cmd.topic);
    const result = await this.host.history(cmd.topic, { since: cmd.since, limit: cmd.limit });
    if (to === undefined) return;
    const reply: Reply & Record<string, unknown> = {
      ok: true,
      messages: result.publications.map((p) => p.message()),
      offset: result.position.offset, epoch: result.position.epoch,
    };
    if (cmd.since !== undefined) reply.recovered = result.recovered;
    if (typeof to !== 'number') {
      session.answer(to, reply);
      return;
    }
    const chunk = session.outbound.encode({ id: to, ...reply });
    if (!session.outbound.fits([chunk])) throw new HeraldError('too_large', 'the history reply would exceed the outbound byte cap: ask with a smaller limit');
    session.outbound.enqueue(chunk);
  }
}
