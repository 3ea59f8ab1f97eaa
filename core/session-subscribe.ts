/**
 * A session's `sub` command: the subscription set up through the host, then answered together with
 * the subscribes settled beside it, so that recoveries sent back to back (a client resubscribing
 * after a reconnect, an SSE stream of several topics) replay in publish order across their topics
 * and no live publication slips in between a replay and its reply.
 */
import { HeraldError } from './errors.js';
import { hasWildcard } from './topic.js';
import type { Command, Position, Reply, ServerMessage } from './protocol.js';
import type { Chunk, Publication } from './publication.js';
import type { ReplyTo, SessionState, SubscribeOutcome, Subscription } from './session-host.js';

/** A `sub` the application made for this connection (broker.subscribe): no authorize, a push instead of a reply. */
export type SubCommand = Extract<Command, { op: 'sub' }> & { server?: boolean };

/** Marks a server-side subscribe queued among the client's commands (it never went through parseCommand). */
export class ServerSubscribe {
  constructor(readonly command: SubCommand) {}
}

/** Is this raw command a `sub` with `since` (one more recovery to answer together)? */
export function isRecovery(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as { op?: unknown }).op === 'sub' && (raw as { since?: unknown }).since !== undefined;
}

/** Publish order across topics: the adapter's sequence when it has one, else the offset. */
const byPosition = (a: Publication, b: Publication): number => (a.sequence ?? a.offset ?? 0) - (b.sequence ?? b.offset ?? 0);

/** The `sub` command: set up through the host, then answered with the subscribes settled beside it. */
export async function subscribe<S extends SessionState<S>>(session: S, cmd: SubCommand, to: ReplyTo): Promise<void> {
  const host = session.host;
  const { topic } = cmd;
  const server = cmd.server === true;
  if (session.subscriptions.has(topic)) {
    answerSubscribes(session);
    session.answer(to, { ok: true });
    return;
  }
  if (session.subscriptions.size >= host.limits.maxSubscriptions) {
    throw new HeraldError('limit_exceeded', `at most ${host.limits.maxSubscriptions} subscriptions per connection`);
  }
  if (host.hasAuthorize && !server) await session.authorize('subscribe', topic);
  if (session.isClosed) return;
  if (session.subscriptions.has(topic)) {
    answerSubscribes(session);
    session.answer(to, { ok: true });
    return;
  }
  const literal = !hasWildcard(topic);
  const sub: Subscription = { pattern: topic, literal, presence: cmd.presence === true, buffer: literal ? [] : undefined };
  if (sub.buffer) session.recovering++;
  session.subscriptions.set(topic, sub);
  let outcome: SubscribeOutcome;
  try {
    outcome = await host.subscribe(session, sub, cmd.since);
  } catch (err) {
    if (sub.buffer) session.recovering--;
    sub.buffer = undefined;
    if (session.subscriptions.get(topic) === sub) {
      session.subscriptions.delete(topic);
      await host.unsubscribe(session, sub).catch(() => undefined);
    }
    throw err;
  }
  (session.settled ??= []).push({ sub, since: cmd.since, to, outcome, server });
  if (!isRecovery(session.nextCommand())) answerSubscribes(session);
}

/**
 * One synchronous block: the replayed publications of every settled subscribe (interleaved by
 * position across topics), then the replies in command order, then whatever arrived live
 * meanwhile (minus duplicates); no publication can slip in between.
 */
export function answerSubscribes<S extends SessionState<S>>(session: S): void {
  const settled = session.settled;
  if (settled === undefined) return;
  session.settled = undefined;
  if (session.isClosed) return;
  let replay: Publication[] = [];
  for (const s of settled) if (s.outcome.replay.length > 0) replay = replay.concat(s.outcome.replay);
  if (settled.length > 1) replay.sort(byPosition);
  // Server-side subscriptions are announced before their publications (a client learns of them here).
  for (const { sub, since, outcome, server } of settled) {
    if (!server) continue;
    const push: Extract<ServerMessage, { op: 'sub' }> = { op: 'sub', topic: sub.pattern, reason: 'server' };
    if (outcome.position) { push.offset = outcome.position.offset; push.epoch = outcome.position.epoch; }
    if (since !== undefined) push.recovered = outcome.recovered;
    session.send(push);
  }
  let replayed = false;
  /** Topics whose replay this encoder could not encode in full: they are not recovered. */
  let unencodable: Set<string> | undefined;
  if (replay.length > 0) {
    const chunks: Chunk[] = [];
    for (const pub of replay) {
      const chunk = session.outbound.publication(pub);
      if (chunk === undefined) (unencodable ??= new Set()).add(pub.topic);
      else chunks.push(chunk);
    }
    // A backlog bigger than the outbound cap would trip 4008, and the client would reconnect to
    // recover the same backlog forever: say recovered:false instead, so it reloads its state.
    replayed = session.outbound.fits(chunks);
    if (replayed) for (const chunk of chunks) session.outbound.enqueue(chunk);
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
      session.answer(to, reply);
    }
    if (since !== undefined) session.host.recovery(recovered);
    // Live copies at or before the position just announced are older than it (over NATS one
    // published just before can arrive after the subscription holds): they are dropped below.
    sub.last = recovered ? last : outcome.position;
  }
  for (const { sub } of settled) {
    const buffered = sub.buffer;
    if (buffered) {
      sub.buffer = undefined;
      session.recovering--;
      const after = sub.last;
      for (const pub of buffered) {
        if (after && pub.epoch === after.epoch && pub.offset !== undefined && pub.offset <= after.offset) continue;
        session.push(pub);
      }
    }
    sub.last = undefined;
    const dropped = sub.dropped;
    if (dropped !== undefined) {
      sub.dropped = undefined;
      session.drop(sub.pattern, dropped);
    }
  }
}
