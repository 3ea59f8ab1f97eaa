/**
 * The SSE fallback (docs/transports.md) behind the same Link interface as a WebSocket: publications
 * arrive on an EventSource at `/events?topic=...`, publish/presence/history go through the HTTP API.
 * An SSE stream follows a fixed set of topics, so `sub`/`unsub` reopen the stream (batched per
 * turn) with `since` = every literal topic's position, and `sub` is answered by `herald-ready`.
 * EventSource's own reconnection is not used: any stream error ends the link, and the client
 * reconnects with its backoff and recovery like after a WebSocket drop.
 */
import type { Position } from '../core/protocol.js';
import type { ConnectionHandlers, Link, Reply } from './connection.js';
import { HeraldClientError, type ClientErrorCode } from './errors.js';
import { decodeEventId, encodeEventId } from './sse-event-id.js';

export interface EventSourceLike {
  readonly readyState: number;
  onmessage: ((event: { data: string; lastEventId?: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  addEventListener(type: string, listener: (event: { data: string; lastEventId?: string }) => void): void;
  close(): void;
}

export type EventSourceConstructor = new (url: string) => EventSourceLike;

export interface SseFallbackOptions {
  /** EventSource constructor; default: the global one (browsers). Node: pass the `eventsource` package's. */
  EventSource?: EventSourceConstructor;
  /** The SSE endpoint (default: the WebSocket URL's origin + '/events'). */
  eventsUrl?: string;
  /** The HTTP API prefix (default: origin + '/api'). */
  apiUrl?: string;
  /** Checked to decide the server is reachable (default: origin + '/healthz'). */
  healthUrl?: string;
}

export interface SseEndpoints {
  readonly EventSource: EventSourceConstructor;
  readonly events: string;
  readonly api: string;
  readonly health: string;
}

/** Resolves the fallback's endpoints from the WebSocket URL; undefined when there is no EventSource. */
export function sseEndpoints(wsUrl: string, options: SseFallbackOptions): SseEndpoints | undefined {
  const EventSource = options.EventSource ?? (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
  if (typeof EventSource !== 'function') return undefined;
  const url = new URL(wsUrl);
  const origin = `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`;
  return {
    EventSource,
    events: options.eventsUrl ?? `${origin}/events`,
    api: (options.apiUrl ?? `${origin}/api`).replace(/\/+$/, ''),
    health: options.healthUrl ?? `${origin}/healthz`,
  };
}

interface PendingSub {
  readonly since: Position | undefined;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (err: HeraldClientError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

const CLOSED = 2;

export class SseLink implements Link {
  readonly transport = 'sse';
  lastInbound = Date.now();
  private readonly endpoints: SseEndpoints;
  private token: string | undefined;
  private handlers: ConnectionHandlers | undefined;
  private source: EventSourceLike | undefined;
  /** Topics and patterns the stream should follow. */
  private readonly topics = new Set<string>();
  /** Where each literal topic is: what the next stream resumes from. */
  private readonly positions = new Map<string, Position>();
  private readonly pending = new Map<string, PendingSub>();
  private reopenQueued = false;
  private closed = false;
  private nextId = 1;

  /** Milliseconds an HTTP call of the link's own (the health check, a refusal probe) may take. */
  private readonly timeoutMs: number;

  private constructor(endpoints: SseEndpoints, token: string | undefined, timeoutMs: number) {
    this.endpoints = endpoints;
    this.token = token;
    this.timeoutMs = timeoutMs;
  }

  /** "Opens" the fallback: the server answers its health check. The stream opens with the first `sub`. */
  static async open(endpoints: SseEndpoints, token: string | undefined, timeoutMs: number): Promise<SseLink> {
    const link = new SseLink(endpoints, token, timeoutMs);
    const res = await link.fetch(endpoints.health, { method: 'GET' }, timeoutMs, 'connect');
    if (!res.ok) throw new HeraldClientError('transport', `SSE fallback: ${endpoints.health} answered ${res.status}`);
    return link;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
  }

  request(command: { op: string } & Record<string, unknown>, timeoutMs: number): Promise<Reply> {
    if (this.closed) return Promise.reject(new HeraldClientError('disconnected', `${command.op}: not connected`));
    const id = this.nextId++;
    const topic = command.topic as string;
    switch (command.op) {
      case 'sub':
        return new Promise((resolve, reject) => {
          const since = command.since as Position | undefined;
          this.topics.add(topic);
          if (since) this.positions.set(topic, since);
          const timer = setTimeout(() => {
            if (this.pending.get(topic)?.timer === timer) this.pending.delete(topic);
            reject(new HeraldClientError('timeout', `sub timed out: no reply within ${timeoutMs} ms`));
          }, timeoutMs);
          this.pending.set(topic, { since, resolve: (r) => resolve({ ...r, id }), reject, timer });
          this.queueReopen();
        });
      case 'unsub':
        this.topics.delete(topic);
        this.positions.delete(topic);
        this.queueReopen();
        return Promise.resolve({ id, ok: true });
      case 'auth':
        // A stream cannot re-authenticate: the next stream carries the new token.
        this.token = command.token as string;
        this.queueReopen();
        return Promise.resolve({ id, ok: true });
      case 'pub':
        return this.api('POST', `${this.endpoints.api}/publish`, { topic, data: command.data }, timeoutMs, 'pub', id);
      case 'presence':
        return this.api('GET', `${this.endpoints.api}/presence/${encodeURIComponent(topic)}`, undefined, timeoutMs, 'presence', id);
      case 'history': {
        const query = new URLSearchParams();
        if (command.limit !== undefined) query.set('limit', String(command.limit));
        const since = command.since as Position | undefined;
        if (since) { query.set('since', String(since.offset)); query.set('epoch', since.epoch); }
        const q = query.toString();
        return this.api('GET', `${this.endpoints.api}/history/${encodeURIComponent(topic)}${q ? `?${q}` : ''}`, undefined, timeoutMs, 'history', id);
      }
      case 'ping':
        return this.api('GET', this.endpoints.health, undefined, timeoutMs, 'ping', id);
      default:
        return Promise.reject(new HeraldClientError('unsupported', `${command.op} is not available over the SSE fallback`));
    }
  }

  close(code: number, reason: string): void {
    this.finish(code, reason);
  }

  drop(code = 1006, reason = 'dropped'): void {
    this.finish(code, reason);
  }

  // ------------------------------------------------------------------ the stream

  private queueReopen(): void {
    if (this.reopenQueued) return;
    this.reopenQueued = true;
    // One new stream for every sub/unsub of this turn (a resubscribe sends them all at once).
    queueMicrotask(() => {
      this.reopenQueued = false;
      if (!this.closed) this.reopen();
    });
  }

  private reopen(): void {
    this.source?.close();
    this.source = undefined;
    if (this.topics.size === 0) return;
    const url = new URL(this.endpoints.events);
    const resume = new Map<string, Position>();
    for (const topic of this.topics) {
      url.searchParams.append('topic', topic);
      const p = this.positions.get(topic);
      if (p) resume.set(topic, p);
    }
    if (resume.size > 0) url.searchParams.set('since', encodeEventId(resume));
    if (this.token !== undefined) url.searchParams.set('access_token', this.token);
    const source = new this.endpoints.EventSource(url.toString());
    this.source = source;
    let reset: string[] = [];
    const live = (): boolean => this.source === source && !this.closed;
    source.onmessage = (event) => {
      if (!live()) return;
      this.lastInbound = Date.now();
      const message = JSON.parse(event.data) as Record<string, unknown> & { op: string };
      const topic = message.topic as string;
      if (typeof message.offset === 'number' && typeof message.epoch === 'string' && this.topics.has(topic)) {
        this.positions.set(topic, { offset: message.offset, epoch: message.epoch });
      }
      this.handlers?.push(message);
    };
    source.addEventListener('herald-reset', (event) => {
      if (live()) reset = (JSON.parse(event.data) as { topics: string[] }).topics;
    });
    source.addEventListener('herald-ready', (event) => {
      if (!live()) return;
      this.lastInbound = Date.now();
      const ready = JSON.parse(event.data) as { topics: string[] };
      const at = decodeEventId(event.lastEventId ?? '');
      const lost: string[] = [];
      for (const topic of ready.topics) {
        const position = at.get(topic);
        if (position) this.positions.set(topic, position);
        const pending = this.pending.get(topic);
        if (pending === undefined) {
          if (reset.includes(topic)) lost.push(topic);
          continue;
        }
        this.pending.delete(topic);
        clearTimeout(pending.timer);
        const reply: Reply = { id: 0, ok: true };
        if (position) { reply.offset = position.offset; reply.epoch = position.epoch; }
        if (pending.since) reply.recovered = !reset.includes(topic);
        pending.resolve(reply);
      }
      // Topics already followed that this new stream could not resume.
      if (lost.length > 0) this.handlers?.push({ op: 'reset', topics: lost });
    });
    source.addEventListener('herald-error', (event) => {
      if (!live()) return;
      const { topic, error } = JSON.parse(event.data) as { topic?: string; error: { code: string; message: string } };
      const pending = topic === undefined ? undefined : this.pending.get(topic);
      if (topic !== undefined && pending) {
        this.pending.delete(topic);
        this.topics.delete(topic);
        clearTimeout(pending.timer);
        pending.reject(new HeraldClientError(error.code as ClientErrorCode, `sub: ${error.message}`));
      } else {
        this.handlers?.push({ op: 'error', error });
      }
    });
    source.addEventListener('herald-close', (event) => {
      // The server ends the stream with a code (4003: disconnected for good, the client stops).
      if (!live()) return;
      const { code, reason } = JSON.parse(event.data) as { code: number; reason: string };
      if (code === 1000 && this.topics.size === 0) {
        // The server dropped the stream's last topic: nothing to follow until the next subscribe.
        source.close();
        this.source = undefined;
        return;
      }
      this.finish(code, reason);
    });
    source.addEventListener('herald-unsub', (event) => {
      // Dropped by the server for good: the next stream does not ask for it again.
      if (!live()) return;
      const { topic, reason } = JSON.parse(event.data) as { topic: string; reason: string };
      this.topics.delete(topic);
      this.positions.delete(topic);
      this.handlers?.push({ op: 'unsub', topic, reason });
    });
    source.addEventListener('herald-sub', (event) => {
      if (live()) this.handlers?.push({ op: 'sub', ...(JSON.parse(event.data) as { topic: string }) });
    });
    for (const op of ['join', 'leave']) {
      source.addEventListener(op, (event) => { if (live()) this.handlers?.push(JSON.parse(event.data) as { op: string }); });
    }
    source.onerror = () => {
      // A refused stream (401, 400...) or a lost one: either way this link is over.
      if (!live()) return;
      if (source.readyState !== CLOSED) {
        this.finish(1006, 'event stream lost');
        return;
      }
      // EventSource hides the status of a refusal: ask once more with fetch, so that a refused
      // token is a 4001 (a new token from getToken, or a stop) and not an endless retry.
      source.close();
      void this.refusalCode(url.toString()).then((code) => {
        if (live()) this.finish(code, code === 4001 ? 'unauthorized' : 'event stream refused');
      });
    };
  }

  // ------------------------------------------------------------------ HTTP API

  private async api(method: 'GET' | 'POST', url: string, body: unknown, timeoutMs: number, op: string, id: number): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await this.fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }, timeoutMs, op);
    let answer: Record<string, unknown>;
    try {
      answer = (await res.json()) as Record<string, unknown>;
    } catch {
      throw new HeraldClientError('internal', `${op}: HTTP ${res.status} without a JSON body`);
    }
    if (answer.ok !== true) {
      const error = answer.error as { code?: string; message?: string } | undefined;
      throw new HeraldClientError((error?.code ?? 'internal') as ClientErrorCode, `${op}: ${error?.message ?? `HTTP ${res.status}`}`);
    }
    this.lastInbound = Date.now();
    return { ...answer, id, ok: true };
  }

  /** 4001 when the stream URL answers 401, else 1006. The body (a stream, if it opens now) is not read. */
  private async refusalCode(url: string): Promise<number> {
    try {
      const res = await this.fetch(url, { method: 'GET', headers: { accept: 'text/event-stream' } }, this.timeoutMs, 'probe');
      void res.body?.cancel().catch(() => undefined);
      return res.status === 401 ? 4001 : 1006;
    } catch {
      return 1006;
    }
  }

  private async fetch(url: string, init: RequestInit, timeoutMs: number, op: string): Promise<Response> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    const headers = new Headers(init.headers);
    if (this.token !== undefined) headers.set('authorization', `Bearer ${this.token}`);
    try {
      return await fetch(url, { ...init, headers, signal: abort.signal });
    } catch (err) {
      if (abort.signal.aborted) throw new HeraldClientError('timeout', `${op} timed out: no reply within ${timeoutMs} ms`);
      throw new HeraldClientError(op === 'connect' ? 'transport' : 'disconnected', `${op}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.source?.close();
    this.source = undefined;
    for (const [topic, p] of this.pending) {
      this.pending.delete(topic);
      clearTimeout(p.timer);
      p.reject(new HeraldClientError('disconnected', `sub: event stream closed (${code} ${reason}) before it was ready`, code));
    }
    const handlers = this.handlers;
    this.handlers = undefined;
    handlers?.close(code, reason);
  }
}
