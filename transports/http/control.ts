/**
 * The control routes of the HTTP API (core/control.ts over HTTP), for back ends and the dashboard:
 *   POST <prefix>/broadcast   {"topics":[...],"data":...,"idempotencyKey"?}  -> {"ok":true,"results":[...]}
 *   POST <prefix>/disconnect  {"user"|"client","code"?,"reason"?}          -> {"ok":true,"connections","nodes"}
 *   POST <prefix>/unsubscribe {"user"|"client","topic"}                    -> {"ok":true,"connections","nodes"}
 *   POST <prefix>/subscribe   {"user"|"client","topic","since"?}           -> {"ok":true,"connections","nodes"}
 *   GET  <prefix>/topics?pattern=&limit=                                   -> {"ok":true,"topics":[...],"truncated"}
 *   GET  <prefix>/info                                                     -> {"ok":true,"nodes":[...]}
 *   GET  <prefix>/presence-stats/<topic>                                   -> {"ok":true,"clients","users"}
 * Every one needs an API key or a JWT with `admin: true` (adminAuthorizer): never anonymous.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { assertTopic, type BrokerApi, HeraldError, parsePosition, sendError, sendJson } from '../../core/plugin.js';
import { readJson } from './body.js';

export type AdminGuard = (req: IncomingMessage) => Promise<void>;

interface ControlRoute {
  readonly method: 'GET' | 'POST';
  run(broker: BrokerApi, body: Record<string, unknown>, url: URL, rest: string): Promise<object>;
}

const target = (body: Record<string, unknown>) => {
  const t: Record<string, unknown> = {};
  if (body.user !== undefined) t.user = body.user;
  if (body.client !== undefined) t.client = body.client;
  return t as { user: string } | { client: string };
};

const topicOf = (body: Record<string, unknown>): string => {
  if (body.topic === undefined) throw new HeraldError('bad_request', 'missing field topic');
  return body.topic as string;
};

/** Route name (after the prefix) -> route; `presence-stats/` takes the topic after it. */
export const CONTROL_ROUTES: Readonly<Record<string, ControlRoute>> = {
  broadcast: {
    method: 'POST',
    run: (broker, body) => {
      if (!('data' in body)) throw new HeraldError('bad_request', 'missing field data');
      return broker.broadcast(body.topics as string[], body.data, { idempotencyKey: body.idempotencyKey as string | undefined });
    },
  },
  disconnect: {
    method: 'POST',
    run: (broker, body) => broker.disconnect(target(body), { code: body.code as number | undefined, reason: body.reason as string | undefined }),
  },
  unsubscribe: {
    method: 'POST',
    run: (broker, body) => broker.unsubscribe(target(body), topicOf(body)),
  },
  subscribe: {
    method: 'POST',
    run: (broker, body) => broker.subscribe(target(body), topicOf(body), body.since === undefined ? {} : { since: parsePosition(body.since, 'since') }),
  },
  topics: {
    method: 'GET',
    run: (broker, _body, url) => {
      const pattern = url.searchParams.get('pattern');
      const limit = url.searchParams.get('limit');
      if (limit !== null && !/^\d{1,6}$/.test(limit)) throw new HeraldError('bad_request', 'limit must be a positive integer');
      return broker.topics({ ...(pattern === null || pattern === '' ? {} : { pattern }), ...(limit === null ? {} : { limit: Number(limit) }) });
    },
  },
  info: {
    method: 'GET',
    run: (broker) => broker.info(),
  },
  'presence-stats/': {
    method: 'GET',
    run: (broker, _body, _url, rest) => {
      let topic: string;
      try { topic = decodeURIComponent(rest); } catch { throw new HeraldError('invalid_topic', 'the topic is not valid percent-encoding'); }
      return broker.presenceStats(assertTopic(topic));
    },
  },
};

/** Serves one control route: method, admin check, body, then the broker's answer or a typed error. */
export function serveControl(
  broker: BrokerApi, guard: AdminGuard, maxPayload: number, route: ControlRoute, path: string,
  req: IncomingMessage, res: ServerResponse, onInternal: (err: unknown) => void,
): void {
  if (req.method !== route.method) {
    sendError(res, new HeraldError('bad_request', `use ${route.method}`), 405, { allow: route.method });
    return;
  }
  (async () => {
    // Credentials first: an anonymous caller learns nothing, not even whether its body was valid.
    await guard(req);
    let body: Record<string, unknown> = {};
    if (route.method === 'POST') {
      const raw = await readJson(req, maxPayload);
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new HeraldError('bad_request', 'the body must be a JSON object');
      body = raw as Record<string, unknown>;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    return route.run(broker, body, url, url.pathname.slice(path.length));
  })().then(
    (result) => sendJson(res, 200, { ok: true, ...result }),
    (err: unknown) => {
      if (!(err instanceof HeraldError)) onInternal(err);
      sendError(res, err);
    },
  );
}
