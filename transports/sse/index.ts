/**
 * Server-Sent Events transport (docs/transports.md): `GET /events?topic=a&topic=b.*` streams
 * text/event-stream. Each publication is a default-type event whose data is the JSON of the ws `msg`
 * push and whose id resumes every literal topic of the stream (Last-Event-ID, or `since` on a first
 * connection). Read-only: SSE clients publish through the HTTP API.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeraldError, isPattern, type Position, sendError, type Transport, type TransportHost } from '../../core/plugin.js';
import { handshakeOf } from '../shared/handshake.js';
import { decodeEventId } from './event-id.js';
import { SseStream } from './stream.js';

export interface SseTransportOptions {
  /** Request path (default '/events'). */
  path?: string;
  /** Ms between heartbeat comments (default 15000). */
  heartbeat?: number;
  /** The `retry:` hint, ms EventSource waits before reconnecting (default 2000). */
  retry?: number;
  /** Ms a closing stream may take to drain before its socket is destroyed (default 2000). */
  closeTimeout?: number;
}

export class SseTransport implements Transport {
  readonly name = 'sse';
  private readonly path: string;
  private readonly heartbeat: number;
  private readonly retry: number;
  private readonly closeTimeout: number;
  private readonly streams = new Set<SseStream>();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: SseTransportOptions = {}) {
    this.path = options.path ?? '/events';
    this.heartbeat = options.heartbeat ?? 15_000;
    this.retry = options.retry ?? 2000;
    this.closeTimeout = options.closeTimeout ?? 2000;
  }

  attach(host: TransportHost): void {
    host.onRequest(this.path, (req, res) => this.open(host, req, res));
    // One timer for every stream rather than one per stream.
    this.timer = setInterval(() => { for (const s of this.streams) s.heartbeat(); }, this.heartbeat);
    this.timer.unref();
  }

  private open(host: TransportHost, req: IncomingMessage, res: ServerResponse): void {
    if (req.method !== 'GET') {
      sendError(res, new HeraldError('bad_request', 'use GET'), 405, { allow: 'GET' });
      return;
    }
    // An EventSource cannot send an `auth` command: credentials come with the request or never.
    const handshake = { ...handshakeOf(req, 'sse'), canSendAuth: false };
    let patterns: string[];
    let resume: Map<string, Position> | undefined;
    let resuming: boolean;
    try {
      patterns = [...new Set(handshake.query.getAll('topic'))];
      if (patterns.length === 0) throw new HeraldError('bad_request', 'give at least one topic parameter');
      const bad = patterns.find((p: string) => !isPattern(p as unknown));
      if (bad !== undefined) throw new HeraldError('invalid_topic', `not a valid topic or pattern: ${JSON.stringify(bad.slice(0, 100))}`);
      const max = host.options.limits.maxSubscriptions;
      if (patterns.length > max) throw new HeraldError('limit_exceeded', `at most ${max} topics per stream`);
      ({ resume, resuming } = resumeOf(req, handshake.query));
    } catch (err) {
      sendError(res, err);
      return;
    }
    const stream = new SseStream(res, { patterns, resume, resuming, retry: this.retry, closeTimeout: this.closeTimeout });
    const session = host.open(stream, handshake, stream);
    this.streams.add(stream);
    // A client that goes away frees its session, subscriptions and buffers at once.
    res.once('close', () => {
      this.streams.delete(stream);
      session.disconnected(1006);
    });
    for (const topic of patterns) session.handle(stream.command(topic), (reply) => stream.answered(topic, reply));
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.streams.clear();
  }
}

/**
 * Where to resume from: Last-Event-ID (an EventSource reconnecting) wins over `since` (a first
 * connection). An unreadable Last-Event-ID still counts as a resumption (the stream then says it was
 * incomplete); an unreadable `since` is the caller's mistake and is refused.
 */
function resumeOf(req: IncomingMessage, query: URLSearchParams): { resume: Map<string, Position> | undefined; resuming: boolean } {
  const header = req.headers['last-event-id'];
  const lastEventId = Array.isArray(header) ? header[0] : header;
  if (lastEventId !== undefined && lastEventId !== '') return { resume: decodeEventId(lastEventId), resuming: true };
  const since = query.get('since');
  if (since === null || since === '') return { resume: undefined, resuming: false };
  const resume = decodeEventId(since);
  if (resume === undefined) throw new HeraldError('bad_request', 'since is not an event id of this server');
  return { resume, resuming: true };
}

/** The SSE transport. */
export function sse(options: SseTransportOptions = {}): Transport {
  return new SseTransport(options);
}
