/**
 * The HTTP host: per-IP admission when Herald shares the application's server or is handed its
 * upgrades and requests (noServer), and the CORS answers of the origin policy, over real HTTP.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker, type Broker, type BrokerOptions } from '../../core/index.js';
import { httpApi } from '../../transports/http/index.js';
import { sse } from '../../transports/sse/index.js';
import { ws } from '../../transports/ws/index.js';
import { startBroker, until } from '../helpers/broker.js';
import { TestClient } from '../helpers/ws-client.js';

const servers: Server[] = [];
const brokers: Broker[] = [];
const clients: TestClient[] = [];
const streams: IncomingMessage[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.destroy();
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

const LIMITS = { connectionsPerIp: 2, connectionRate: 1000, connectionBurst: 1000, exemptLoopback: false };

/** The application's server, with Herald on it the way the mode says. */
async function embedded(mode: 'server' | 'noServer', options: Partial<BrokerOptions> = {}): Promise<{ port: number; broker: Broker }> {
  const app = (res: import('node:http').ServerResponse): void => { res.end('app page'); };
  let broker: Broker;
  let server: Server;
  if (mode === 'server') {
    server = createServer((_req, res) => app(res));
    broker = await createBroker({ server, transports: [ws(), sse(), httpApi()], logger: false, ...options } as BrokerOptions);
  } else {
    broker = await createBroker({ noServer: true, transports: [ws(), sse(), httpApi()], logger: false, ...options } as BrokerOptions);
    server = createServer((req, res) => { if (!broker.handleRequest(req, res)) app(res); });
    server.on('upgrade', (req, socket, head) => { if (!broker.handleUpgrade(req, socket, head)) socket.destroy(); });
  }
  brokers.push(broker);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, broker };
}

/** The status of a WebSocket upgrade: 101 when it opened (the client is kept), else the refusal's status. */
async function upgrade(port: number): Promise<number> {
  try {
    clients.push(await TestClient.connect(`ws://127.0.0.1:${port}/ws`));
    return 101;
  } catch (err) {
    const status = /HTTP (\d+)/.exec((err as Error).message);
    if (!status) throw err;
    return Number(status[1]);
  }
}

function http(port: number, path: string, options: { method?: string; headers?: Record<string, string>; keep?: boolean } = {}): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      if (options.keep && res.statusCode === 200) {
        // An SSE stream: it stays open (and counted) until the test ends it.
        streams.push(res);
        resolve({ status: 200, headers: res.headers, body: '' });
        return;
      }
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('per-IP admission when Herald does not own the server', () => {
  for (const mode of ['server', 'noServer'] as const) {
    it(`${mode} mode: upgrades and open streams count toward connectionsPerIp (429 over it), the application's paths do not`, async () => {
      const { port, broker } = await embedded(mode, { limits: LIMITS });
      expect([await upgrade(port), await upgrade(port)]).toEqual([101, 101]);
      expect(await upgrade(port)).toBe(429);
      // An SSE stream is a connection too, and is refused the same way (JSON, code limit_exceeded).
      const refused = await http(port, '/events?topic=a', { keep: true });
      expect(refused.status).toBe(429);
      expect(JSON.parse(refused.body)).toMatchObject({ ok: false, error: { code: 'limit_exceeded' } });
      // The application's own pages are never counted or refused by Herald.
      expect(await http(port, '/page')).toMatchObject({ status: 200, body: 'app page' });
      // Closing a connection gives its place back.
      await clients.shift()!.close();
      await until(() => broker.stats().connections === 1, 'the closed connection to be released');
      expect((await http(port, '/events?topic=a', { keep: true })).status).toBe(200);
      expect(await upgrade(port)).toBe(429);
      streams.shift()!.destroy();
      await until(() => broker.stats().connections === 1, 'the stream to be released');
      expect(await upgrade(port)).toBe(101);
    });

    it(`${mode} mode: new upgrades per IP are charged against connectionBurst / connectionRate`, async () => {
      const { port } = await embedded(mode, { limits: { connectionsPerIp: 100, connectionRate: 1, connectionBurst: 3, exemptLoopback: false } });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push(await upgrade(port));
      // The bucket refills at 1/s; five upgrades in well under a second: the burst of three, then 429.
      expect(statuses.slice(0, 3)).toEqual([101, 101, 101]);
      expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(1);
    });

    it(`${mode} mode: loopback is exempt unless exemptLoopback is false`, async () => {
      const { port } = await embedded(mode, { limits: { ...LIMITS, exemptLoopback: true } });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push(await upgrade(port));
      expect(statuses).toEqual([101, 101, 101, 101]);
    });
  }
});

describe('CORS over HTTP', () => {
  const ALLOWED = 'https://app.example.com';

  it('answers a preflight for a listed origin with 204 and what the HTTP paths accept, and refuses others with 403', async () => {
    const { port } = await startBroker({ transports: [sse(), httpApi()], allowedOrigins: [ALLOWED] });
    const preflight = (origin: string) => http(port, '/api/publish', {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' },
    });
    const ok = await preflight(ALLOWED);
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(ok.headers['access-control-allow-credentials']).toBe('true');
    expect(ok.headers['access-control-allow-methods']).toMatch(/\bPOST\b/);
    expect(ok.headers['access-control-allow-headers']).toMatch(/content-type/);
    expect(ok.headers['access-control-allow-headers']).toMatch(/authorization/);
    expect(ok.headers['access-control-allow-headers']).toMatch(/last-event-id/);
    expect(ok.headers.vary).toMatch(/\bOrigin\b/);
    const bad = await preflight('https://app.example.com.evil.io');
    expect(bad.status).toBe(403);
    expect(bad.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('sends Vary: Origin on every answer of a path whose CORS headers depend on the Origin, with or without one', async () => {
    const { port } = await startBroker({ transports: [sse(), httpApi()], allowedOrigins: [ALLOWED] });
    const withOrigin = await http(port, '/healthz', { headers: { origin: ALLOWED } });
    expect(withOrigin.status).toBe(200);
    expect(withOrigin.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(withOrigin.headers.vary).toMatch(/\bOrigin\b/);
    // A cache keeping this answer (no CORS headers) must not hand it to a cross-origin page.
    const without = await http(port, '/healthz');
    expect(without.status).toBe(200);
    expect(without.headers['access-control-allow-origin']).toBeUndefined();
    expect(without.headers.vary).toMatch(/\bOrigin\b/);
    const stream = await http(port, '/events?topic=a', { headers: { origin: ALLOWED }, keep: true });
    expect(stream.status).toBe(200);
    expect(stream.headers['access-control-allow-origin']).toBe(ALLOWED);
    expect(stream.headers.vary).toMatch(/\bOrigin\b/);
  });

  it("allowedOrigins '*': any origin is echoed (never *), without credentials; the preflight works for it", async () => {
    const { port } = await startBroker({ transports: [sse(), httpApi()], allowedOrigins: '*' });
    const preflight = await http(port, '/api/publish', { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
    expect(preflight.headers.vary).toMatch(/\bOrigin\b/);
  });

  it('without allowedOrigins (the embedder decides) Herald adds no CORS headers at all', async () => {
    const { port } = await startBroker({ transports: [sse(), httpApi()] });
    const answer = await http(port, '/healthz', { headers: { origin: ALLOWED } });
    expect(answer.status).toBe(200);
    expect(answer.headers['access-control-allow-origin']).toBeUndefined();
    expect(answer.headers.vary).toBeUndefined();
  });
});

describe('path claims', () => {
  it('two transports on one path fail createBroker with route_conflict', async () => {
    const failure = await createBroker({ noServer: true, transports: [ws(), ws()], logger: false }).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'route_conflict', category: 'setup', message: 'two transports claim upgrades on /ws' });
  });
});
