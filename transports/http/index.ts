/**
 * The HTTP API (docs/transports.md), for SSE-only clients and back ends:
 *   POST <prefix>/publish {"topic","data","idempotencyKey"?}  -> {"ok":true,"offset","epoch"}
 *   GET  <prefix>/history/<topic>?limit=&since=<offset>&epoch=<epoch>
 *   GET  <prefix>/presence/<topic>
 *   GET  /healthz
 * plus the control routes (control.ts: broadcast, disconnect, unsubscribe, subscribe, topics, info,
 * presence-stats), which need an API key or an admin JWT.
 * Errors are `{"ok":false,"error":{code,message}}` with the core's codes and a matching status.
 * Every route goes through `guard` first: the one place where a credential check plugs in.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Action, adminAuthorizer, apiKeyChecker, assertTopic, HeraldError, LogLimiter, MAX_HISTORY_LIMIT, parsePosition, type Principal, requestAuthorizer, sendError, sendJson, type Transport, type TransportHost } from '../../core/plugin.js';
import { handshakeOf } from '../shared/handshake.js';
import { readJson } from './body.js';
import { CONTROL_ROUTES, serveControl, type AdminGuard } from './control.js';

/**
 * Decides whether a request may do `action` on `topic`; throw a HeraldError (unauthorized,
 * forbidden...) to refuse.
 */
export type HttpGuard = (req: IncomingMessage, action: Action, topic: string) => void | Promise<void>;

/** The guard as the transport runs it: the principal found (undefined: API key, anonymous, custom guard) is charged the message rate. */
type Check = (req: IncomingMessage, action: Action, topic: string) => Promise<Principal | undefined>;

export interface HttpApiOptions {
  /** Path prefix of the API routes (default '/api'). */
  prefix?: string;
  /** Health check path (default '/healthz'); false to leave it to the application. */
  healthz?: string | false;
  /**
   * Replaces the default guard. The default: an API key from `apiKeys` (Authorization: Bearer,
   * compared in constant time) may do anything; otherwise the broker's authenticate hook must accept
   * the request's credential and its authorize hook allow the action (docs/security.md).
   */
  guard?: HttpGuard;
  /** API keys for back ends (HERALD_API_KEY in the binary), at least 16 characters each. They also open the control routes. */
  apiKeys?: readonly string[];
  /**
   * Replaces the check of the control routes (throw a HeraldError to refuse). The default: an API
   * key from `apiKeys`, or a credential the authenticate hook accepts with claims `admin: true`.
   */
  adminGuard?: AdminGuard;
}

interface Route {
  readonly method: 'GET' | 'POST';
  readonly action: Action;
  run(host: TransportHost, req: IncomingMessage, topic: string, body: unknown): Promise<object>;
}

export class HttpApiTransport implements Transport {
  readonly name = 'http';
  private readonly prefix: string;
  private readonly healthz: string | false;
  private check: Check;
  /** Failures clients can cause are logged a few times per window (core/log-limiter.ts). */
  private errors: LogLimiter | undefined;
  private readonly custom: boolean;
  private readonly apiKeys: readonly string[] | undefined;
  private adminGuard: AdminGuard | undefined;

  constructor(options: HttpApiOptions = {}) {
    this.prefix = (options.prefix ?? '/api').replace(/\/+$/, '');
    this.healthz = options.healthz ?? '/healthz';
    const guard = options.guard;
    this.check = guard === undefined ? async () => undefined : async (req, action, topic) => { await guard(req, action, topic); return undefined; };
    this.custom = guard !== undefined;
    this.apiKeys = options.apiKeys;
    this.adminGuard = options.adminGuard;
    if (this.apiKeys !== undefined) apiKeyChecker(this.apiKeys); // refuse short keys at construction
  }

  attach(host: TransportHost): void {
    this.errors = new LogLimiter(host.logger);
    if (!this.custom) {
      // The broker's hooks are only known now; same rules as every session, plus API keys.
      const authorize = requestAuthorizer(host.options.hooks, this.apiKeys?.length ? apiKeyChecker(this.apiKeys) : undefined);
      this.check = (req, action, topic) => authorize(handshakeOf(req, 'http'), action, topic);
    }
    host.onRequest(`${this.prefix}/publish`, (req, res) => this.serve(host, req, res, publish, undefined));
    const admin = adminAuthorizer(host.options.hooks, this.apiKeys?.length ? apiKeyChecker(this.apiKeys) : undefined);
    const guard = this.adminGuard ?? ((req: IncomingMessage) => admin(handshakeOf(req, 'http')));
    for (const [name, route] of Object.entries(CONTROL_ROUTES)) {
      const path = `${this.prefix}/${name}`;
      host.onRequest(path, (req, res) => serveControl(host.broker, guard, host.options.limits.maxPayload, route, path, req, res,
        (err) => host.logger.error({ err }, 'http control request failed')));
    }
    host.onRequest(`${this.prefix}/history/`, (req, res) => this.serve(host, req, res, history, topicIn(req, `${this.prefix}/history/`)));
    host.onRequest(`${this.prefix}/presence/`, (req, res) => this.serve(host, req, res, presence, topicIn(req, `${this.prefix}/presence/`)));
    if (this.healthz !== false) {
      host.onRequest(this.healthz, (req, res) => {
        if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, new HeraldError('bad_request', 'use GET'), 405, { allow: 'GET' });
        const stats = host.broker.stats();
        sendJson(res, 200, { ok: true, node: host.broker.nodeId, connections: stats.connections });
      });
    }
  }

  private serve(host: TransportHost, req: IncomingMessage, res: ServerResponse, route: Route, topic: string | undefined): void {
    if (req.method !== route.method) {
      sendError(res, new HeraldError('bad_request', `use ${route.method}`), 405, { allow: route.method });
      return;
    }
    (async () => {
      let body: unknown;
      let raw: unknown = topic;
      if (route.method === 'POST') {
        body = await readJson(req, host.options.limits.maxPayload);
        raw = topicOfBody(body);
      }
      const checked = assertTopic(raw);
      const principal = await this.check(req, route.action, checked);
      // The same per-principal rate as the principal's sessions (anonymous: per client IP).
      if (!host.broker.chargeRate(principal, req.socket.remoteAddress ?? '')) {
        throw new HeraldError('rate_limited', `over ${host.options.limits.principalRate} requests per second`);
      }
      return route.run(host, req, checked, body);
    })().then(
      (result) => sendJson(res, 200, { ok: true, ...result }),
      (err: unknown) => {
        // A client that gave up mid-upload is no server failure: debug, so it cannot fill the log.
        if (!(err instanceof HeraldError)) {
          if (!req.complete) host.logger.debug({ err: (err as Error)?.message }, 'http api upload aborted by the client');
          else this.errors!.error({ err }, 'http api request failed');
        }
        sendError(res, err);
      },
    );
  }

  async close(): Promise<void> {}
}

const publish: Route = {
  method: 'POST',
  action: 'publish',
  async run(host, _req, topic, body) {
    const { data, idempotencyKey } = body as { data: unknown; idempotencyKey?: string };
    return host.broker.publish(topic, data, { idempotencyKey });
  },
};

const history: Route = {
  method: 'GET',
  action: 'history',
  async run(host, req, topic) {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    let limit: number | undefined;
    const rawLimit = query.get('limit');
    if (rawLimit !== null) {
      limit = Number(rawLimit);
      if (!/^\d+$/.test(rawLimit) || !Number.isSafeInteger(limit)) throw new HeraldError('bad_request', 'limit must be a non-negative integer');
      limit = Math.min(limit, MAX_HISTORY_LIMIT);
    }
    const rawSince = query.get('since');
    const since = rawSince === null ? undefined : parsePosition({ offset: Number(rawSince), epoch: query.get('epoch') ?? undefined }, 'since');
    const result = await host.broker.history(topic, { since, limit });
    const reply: Record<string, unknown> = {
      messages: result.publications.map((p) => p.message()),
      offset: result.position.offset,
      epoch: result.position.epoch,
    };
    if (since !== undefined) reply.recovered = result.recovered;
    return reply;
  },
};

const presence: Route = {
  method: 'GET',
  action: 'presence',
  async run(host, _req, topic) {
    return { clients: await host.broker.presence(topic) };
  },
};

function topicIn(req: IncomingMessage, prefix: string): string | undefined {
  const path = (req.url ?? '').split('?')[0]!.slice(prefix.length);
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

function topicOfBody(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new HeraldError('bad_request', 'the body must be {"topic","data"}');
  if (!('data' in body)) throw new HeraldError('bad_request', 'missing field data');
  if (!('topic' in body)) throw new HeraldError('bad_request', 'missing field topic');
  return (body as { topic: unknown }).topic;
}

/** The HTTP publish/history/presence API and the health check. */
export function httpApi(options: HttpApiOptions = {}): Transport {
  return new HttpApiTransport(options);
}
