/**
 * One SSE stream: the core Connection (one res.write per turn, the response's buffer counted against
 * the byte cap) and its Encoder. The encoder is per stream because every event carries the stream's
 * own id (its position in each literal topic); the `data:` line of a publication is still encoded once
 * and shared by every SSE subscriber (pub.encoded).
 *
 * Event order on the stream: replayed and live publications (default event type), then, once every
 * topic is subscribed, `herald-reset` when a resumption was asked for and is incomplete, then
 * `herald-ready` (it carries an id, so even a stream that sees no publication can be resumed).
 */
import type { ServerResponse } from 'node:http';
import { type Chunk, CloseCodes, type Connection, type Encoder, type ErrorCode, hasWildcard, HeraldError, jsonCodec, type Position, type Publication, RECONNECT_CLOSE_CODES, type Reply, sendError, type ServerMessage } from '../../core/plugin.js';
import { SharedJoin } from '../shared/shared-join.js';
import { encodeEventId } from './event-id.js';
import { dataLines, HEARTBEAT, namedEvent } from './event.js';

/** Publication data lines, shared by all SSE streams. */
const DATA_KEY = 'sse.data';
/** Whole events (id and data) shared by the streams that follow only the publication's topic. */
const SINGLE_TOPIC_KEY = 'sse.single';

/** One join (and UTF-8 encoding) per turn for every stream that got the same events (shared-join.ts). */
const events = new SharedJoin();
const dataOf = (p: Publication): string => `${dataLines(jsonCodec.encode(p.message()) as string)}\n`;
const singleTopicEvent = (p: Publication): string =>
  `id: ${encodeEventId(new Map([[p.topic, { offset: p.offset!, epoch: p.epoch! }]]))}\n${p.encoded(DATA_KEY, dataOf) as string}`;

/** How a close code is answered while the response has not started yet. */
const REFUSALS: Record<number, [status: number, code: ErrorCode]> = {
  [CloseCodes.unauthorized]: [401, 'unauthorized'],
  [CloseCodes.rateLimited]: [429, 'rate_limited'],
  [CloseCodes.protocolViolation]: [400, 'bad_request'],
  [CloseCodes.shuttingDown]: [503, 'unsupported'],
  [CloseCodes.slowConsumer]: [503, 'limit_exceeded'],
};

export interface StreamSetup {
  /** The stream's topics and patterns, distinct and valid. */
  readonly patterns: readonly string[];
  /** Positions to resume from (Last-Event-ID or `since`). */
  readonly resume: ReadonlyMap<string, Position> | undefined;
  /** A resumption was asked for (even with an id that could not be read). */
  readonly resuming: boolean;
  /** Reconnection delay hint for EventSource, ms. */
  readonly retry: number;
  /** Ms a closing stream may take to drain before its socket is destroyed. */
  readonly closeTimeout: number;
}

export class SseStream implements Encoder, Connection {
  readonly key = DATA_KEY;
  private readonly res: ServerResponse;
  private readonly setup: StreamSetup;
  private readonly literals: Set<string>;
  private readonly positions = new Map<string, Position>();
  /** The current id; undefined when positions changed since it was built. */
  private id: string | undefined;
  private unanswered: number;
  private readonly subscribed: string[] = [];
  /** Topics the stream serves now: subscribed ones, plus those the application added, minus those it removed. */
  private readonly active = new Set<string>();
  private readonly notResumed: string[] = [];
  /** Set by a gap: the stream ends after the current write, and EventSource resumes by Last-Event-ID. */
  private ending = false;

  constructor(res: ServerResponse, setup: StreamSetup) {
    this.res = res;
    this.setup = setup;
    this.literals = new Set(setup.patterns.filter((p) => !hasWildcard(p)));
    // Until a topic is answered, its id entry stays where the client left it.
    if (setup.resume) for (const t of this.literals) { const p = setup.resume.get(t); if (p) this.positions.set(t, p); }
    this.unanswered = setup.patterns.length;
  }

  /** The `sub` command of one of this stream's topics (its reply goes to `answered`). */
  command(topic: string): Record<string, unknown> {
    const since = this.literals.has(topic) ? this.setup.resume?.get(topic) : undefined;
    return since ? { op: 'sub', topic, since } : { op: 'sub', topic };
  }

  // ------------------------------------------------------------------ Encoder

  publication(pub: Publication): Chunk {
    if (pub.offset !== undefined && this.literals.has(pub.topic)) {
      this.advance(pub.topic, { offset: pub.offset, epoch: pub.epoch! });
      // A stream that follows this one literal topic only: its id names nothing but this
      // publication's position, the same for every such stream, so the whole event is shared.
      if (this.positions.size === 1) return pub.encoded(SINGLE_TOPIC_KEY, singleTopicEvent);
    }
    return `id: ${this.currentId()}\n${pub.encoded(DATA_KEY, dataOf) as string}`;
  }

  encode(message: ServerMessage): Chunk {
    // Commands reach the session without ids (their replies go to `answered`): a reply here is a bug.
    if ('id' in message) throw new TypeError('SSE subscribe replies go to answered(), not through the encoder');
    if (message.op === 'error') return namedEvent('herald-error', jsonCodec.encode({ error: message.error }) as string);
    if (message.op === 'msg') return `${dataLines(jsonCodec.encode(message) as string)}\n`;
    if (message.op === 'unsub' && message.reason === 'gap') {
      // A stream follows a fixed set of topics, so a subscription dropped for a gap ends the stream:
      // EventSource reconnects by itself with Last-Event-ID, which resumes (or resets) every topic.
      this.ending = true;
      return namedEvent('herald-close', JSON.stringify({ code: CloseCodes.slowConsumer, reason: `publications on ${message.topic} may have been missed`, reconnect: true }));
    }
    if (message.op === 'unsub') {
      // Dropped by the server for good (UnsubReasons): the stream goes on for its other topics; with
      // none left it has nothing to serve and ends, telling the client not to reconnect.
      this.active.delete(message.topic);
      if (this.positions.delete(message.topic)) this.id = undefined;
      const event = namedEvent('herald-unsub', JSON.stringify({ topic: message.topic, reason: message.reason }));
      if (this.active.size > 0 || this.unanswered > 0) return event;
      this.ending = true;
      return event + namedEvent('herald-close', JSON.stringify({ code: 1000, reason: 'no topic left on this stream', reconnect: false }));
    }
    if (message.op === 'sub') {
      // Subscribed by the application (broker.subscribe): its publications follow on this stream,
      // and a literal topic with history joins the stream's id, so a reconnect resumes it too.
      this.active.add(message.topic);
      if (!hasWildcard(message.topic)) {
        this.literals.add(message.topic);
        if (message.offset !== undefined && message.epoch !== undefined) this.advance(message.topic, { offset: message.offset, epoch: message.epoch });
      }
      const { op, ...payload } = message;
      return namedEvent('herald-sub', JSON.stringify(payload), this.currentId());
    }
    return namedEvent(message.op, jsonCodec.encode(message) as string);
  }

  /**
   * The reply to one topic's `sub` (session.handle's reply callback, in stream order): the events it
   * makes, and once every topic is answered `herald-reset` (resumption incomplete) and `herald-ready`.
   */
  answered(topic: string, reply: Reply): string {
    let out = '';
    if (reply.ok) {
      this.subscribed.push(topic);
      this.active.add(topic);
      if (this.literals.has(topic)) {
        if (typeof reply.offset === 'number' && typeof reply.epoch === 'string') this.advance(topic, { offset: reply.offset, epoch: reply.epoch });
        else if (this.positions.delete(topic)) this.id = undefined; // No history: nothing to resume from.
      }
      if (this.setup.resuming && reply.recovered !== true) this.notResumed.push(topic);
    } else {
      out = namedEvent('herald-error', jsonCodec.encode({ topic, error: reply.error }) as string);
      if (this.setup.resuming) this.notResumed.push(topic);
    }
    if (--this.unanswered === 0) {
      if (this.setup.resuming && this.notResumed.length > 0) out += namedEvent('herald-reset', JSON.stringify({ topics: this.notResumed }));
      const ready: Record<string, unknown> = { topics: this.subscribed };
      if (this.setup.resuming) ready.recovered = this.notResumed.length === 0;
      out += namedEvent('herald-ready', JSON.stringify(ready), this.currentId());
    }
    return out;
  }

  /** Moves a topic's position forward within its epoch, or to a new epoch. */
  private advance(topic: string, p: Position): void {
    const current = this.positions.get(topic);
    if (current !== undefined && current.epoch === p.epoch && current.offset >= p.offset) return;
    this.positions.set(topic, p);
    this.id = undefined;
  }

  private currentId(): string {
    return (this.id ??= encodeEventId(this.positions));
  }

  // ------------------------------------------------------------------ Connection

  write(chunks: Chunk[]): void {
    const res = this.res;
    if (res.destroyed || res.writableEnded) return;
    if (!res.headersSent) {
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
      });
      res.write(`retry: ${this.setup.retry}\n\n${chunks.join('')}`);
    } else {
      const body = events.join(chunks);
      if (body.length > 0) res.write(body);
    }
    if (this.ending) this.end();
  }

  private end(): void {
    const res = this.res;
    res.end();
    setTimeout(() => { if (!res.writableFinished) res.destroy(); }, this.setup.closeTimeout).unref();
  }

  /** A comment line that keeps proxies from timing the stream out. */
  heartbeat(): void {
    if (this.res.headersSent && !this.res.destroyed && !this.res.writableEnded) this.res.write(HEARTBEAT);
  }

  /**
   * Before the stream started: a JSON error with an HTTP status (EventSource then stops). After: the
   * `herald-close` event `{code, reason, reconnect}` and the end of the stream; a slow consumer's
   * socket is destroyed at once, freeing what it has not read.
   */
  close(code: number, reason: string): void {
    const res = this.res;
    if (res.destroyed || res.writableEnded) return;
    if (!res.headersSent) {
      const [status, errorCode] = REFUSALS[code] ?? [500, 'internal'];
      sendError(res, new HeraldError(errorCode, reason), status);
      return;
    }
    if (code === CloseCodes.slowConsumer) {
      res.destroy();
      return;
    }
    res.end(namedEvent('herald-close', JSON.stringify({ code, reason, reconnect: RECONNECT_CLOSE_CODES.has(code) })));
    setTimeout(() => { if (!res.writableFinished) res.destroy(); }, this.setup.closeTimeout).unref();
  }

  get bufferedAmount(): number {
    return this.res.writableLength;
  }
}
