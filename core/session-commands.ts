/**
 * What a session's commands do, once the inbound side (session-inbound.ts) has admitted them:
 * parsed, checked against the principal, carried out through the host, and answered. Publishes are
 * pipelined; `sub` lives in session-subscribe.ts; a failure is answered under the command's id and
 * counts toward the protocol-error limit when it was the client's fault. Functions over the session's
 * state (SessionState) rather than an object per session: as three objects per connection (inbound,
 * commands, subscribes) the split had added about 300 B of heap per connection (bench: density).
 */
import type { Handshake, Principal, ReplyHandler } from './contracts.js';
import { CloseCodes, HeraldError, toHeraldError } from './errors.js';
import { commandId, parseCommand, type Command, type Reply } from './protocol.js';
import type { ReplyTo, SessionState } from './session-host.js';
import { answerSubscribes, isRecovery, ServerSubscribe, subscribe } from './session-subscribe.js';

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

/** Runs one admitted command (session-inbound.ts); the promise it may return never rejects. */
export function dispatch<S extends SessionState<S>>(session: S, raw: unknown, onReply: ReplyHandler | undefined): void | Promise<void> {
  if (session.settled !== undefined && !isRecovery(raw)) answerSubscribes(session);
  let result: void | Promise<void>;
  let to: ReplyTo = onReply;
  try {
    const cmd = raw instanceof ServerSubscribe ? raw.command : parseCommand(raw);
    to ??= cmd.id;
    result = execute(session, cmd, to);
  } catch (err) {
    fail(session, to ?? commandId(raw), err);
    return;
  }
  if (result !== undefined) return result.catch((err: unknown) => fail(session, to, err));
}

/** Answers a failed or refused command; a client's protocol mistakes count toward limits.protocolErrors. */
export function fail<S extends SessionState<S>>(session: S, to: ReplyTo, err: unknown): void {
  if (session.isClosed) return;
  answerSubscribes(session);
  const error = toHeraldError(err);
  if (error.code === 'internal') session.host.limitedLog.error({ err, session: session.id }, 'command failed');
  if (to === undefined) session.send({ op: 'error', error: error.toJSON() });
  else session.answer(to, { ok: false, error: error.toJSON() });
  if (error.code === 'bad_request' || error.code === 'invalid_topic') {
    if (++session.protocolErrors >= session.host.limits.protocolErrors) session.close(CloseCodes.protocolViolation, 'too many protocol errors');
  }
}

function execute<S extends SessionState<S>>(session: S, cmd: Command, to: ReplyTo): void | Promise<void> {
  if (session.principal === undefined && cmd.op !== 'auth' && cmd.op !== 'ping') {
    throw new HeraldError('unauthorized', 'authenticate first');
  }
  switch (cmd.op) {
    case 'ping':
      session.answer(to, { ok: true });
      return;
    case 'pub':
      return publish(session, to, cmd.topic, cmd.data);
    case 'sub':
      return subscribe(session, cmd, to);
    case 'unsub':
      return unsubscribe(session, to, cmd.topic);
    case 'auth':
      return auth(session, to, cmd.token);
    case 'presence':
      return presence(session, to, cmd.topic);
    case 'history':
      return history(session, cmd, to);
  }
}

/**
 * Publishes are pipelined: the host (and so the adapter) gets each one at once, in order, and the
 * next command does not wait for the previous publish to be acknowledged (a JetStream ack is a
 * network round trip). Replies still go out in publish order. Past `limits.pendingCommands`
 * publishes in flight, the session waits for them before reading further commands.
 */
function publish<S extends SessionState<S>>(session: S, to: ReplyTo, topic: string, data: unknown): void | Promise<void> {
  if (session.host.hasAuthorize) {
    const allowed = session.host.authorize(session.principal!, 'publish', topic);
    // An async decision could reorder publishes if pipelined: this one waits, like other commands.
    if (allowed instanceof Promise) return publishWhenAllowed(session, allowed, to, topic, data);
    if (!allowed) throw new HeraldError('forbidden', `publish is not allowed on ${topic}`);
  }
  const result = session.host.publish(topic, data);
  // It may be refused (unavailable) before earlier replies are out: the chain below answers it in turn.
  result.catch(() => undefined);
  session.publishesInFlight++;
  session.publishReplies = (session.publishReplies ?? Promise.resolve())
    .then(() => result)
    .then(
      (position) => session.answer(to, { ok: true, ...position }),
      (err: unknown) => fail(session, to, err),
    )
    .finally(() => {
      // At zero this link is the chain's tail (a new publish would have counted first): drop it.
      if (--session.publishesInFlight === 0) session.publishReplies = undefined;
    });
  if (session.publishesInFlight >= session.host.limits.pendingCommands) return session.publishReplies;
}

async function publishWhenAllowed<S extends SessionState<S>>(session: S, allowed: Promise<boolean>, to: ReplyTo, topic: string, data: unknown): Promise<void> {
  if (!(await allowed)) throw new HeraldError('forbidden', `publish is not allowed on ${topic}`);
  await session.publishReplies; // earlier pipelined publishes answer first
  const result = await session.host.publish(topic, data);
  session.answer(to, { ok: true, ...result });
}

async function unsubscribe<S extends SessionState<S>>(session: S, to: ReplyTo, topic: string): Promise<void> {
  const sub = session.subscriptions.get(topic);
  if (sub) {
    session.subscriptions.delete(topic);
    if (sub.buffer) { sub.buffer = undefined; session.recovering--; }
    await session.host.unsubscribe(session, sub);
  }
  session.answer(to, { ok: true });
}

async function auth<S extends SessionState<S>>(session: S, to: ReplyTo, token: string): Promise<void> {
  let principal: Principal | null;
  let refusal: unknown;
  try {
    principal = await session.authenticate({ ...session.handshake, token } satisfies Handshake);
  } catch (err) {
    principal = null;
    refusal = err;
  }
  if (principal === null) {
    session.host.authFailed();
    fail(session, to, new HeraldError('unauthorized', refusalReason(refusal, 'invalid credentials')));
    session.close(CloseCodes.unauthorized, refusalReason(refusal, 'unauthorized'));
    return;
  }
  const previous = session.principal;
  if (previous !== undefined && previous.user !== null && previous.user !== principal.user) {
    // A refresh re-authenticates the same user; another user's token would inherit this session
    // (an anonymous session signing in is a login, and is re-authorized below all the same).
    session.host.authFailed();
    fail(session, to, new HeraldError('unauthorized', 'a refreshed token must name the same user'));
    session.close(CloseCodes.unauthorized, 'token names another user');
    return;
  }
  session.setPrincipal(principal);
  if (previous !== undefined && session.host.hasAuthorize) await reauthorize(session, principal);
  session.answer(to, { ok: true, client: session.id, user: principal.user });
}

/**
 * After a refresh every subscription (and so its presence entry) must still be granted by the new
 * token: those that are not are dropped with `{op:'unsub', topic, reason:'forbidden'}`.
 */
async function reauthorize<S extends SessionState<S>>(session: S, principal: Principal): Promise<void> {
  const subs = [...session.subscriptions.values()];
  const allowed = await Promise.all(subs.map(async (sub) => {
    try {
      return await session.host.authorize(principal, 'subscribe', sub.pattern);
    } catch {
      return false; // a failing hook grants nothing
    }
  }));
  if (session.isClosed || session.principal !== principal) return;
  subs.forEach((sub, i) => {
    if (!allowed[i] && session.subscriptions.get(sub.pattern) === sub) session.drop(sub.pattern, 'forbidden');
  });
}

async function presence<S extends SessionState<S>>(session: S, to: ReplyTo, topic: string): Promise<void> {
  if (session.host.hasAuthorize) await session.authorize('presence', topic);
  const clients = await session.host.presence(topic);
  session.answer(to, { ok: true, clients });
}

async function history<S extends SessionState<S>>(session: S, cmd: Extract<Command, { op: 'history' }>, to: ReplyTo): Promise<void> {
  if (session.host.hasAuthorize) await session.authorize('history', cmd.topic);
  const result = await session.host.history(cmd.topic, { since: cmd.since, limit: cmd.limit });
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
