/**
 * Origin matrix (issue 5): null, look-alike hosts, case, port, scheme and a missing Origin, against
 * every door: ws upgrade, socket.io (polling handshake and websocket upgrade), SSE, HTTP API and its
 * CORS preflight. Refusals happen in the HTTP host before any transport runs: 403, no upgrade.
 */
import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../helpers/broker.js';
import { httpApi } from '../../transports/http/index.js';
import { socketio } from '../../transports/socketio/index.js';
import { sse } from '../../transports/sse/index.js';
import { ws } from '../../transports/ws/index.js';
import { rawConnect } from './raw-socket.js';

const ALLOWED = ['https://app.example.com', 'http://localhost:3000'];
const ORIGINS: [label: string, origin: string | undefined, allowed: boolean][] = [
  ['listed', 'https://app.example.com', true],
  ['listed with port', 'http://localhost:3000', true],
  ['missing (non-browser client)', undefined, true],
  ['null', 'null', false],
  ['look-alike suffix', 'https://app.example.com.evil.io', false],
  ['look-alike prefix', 'https://evil-app.example.com', false],
  ['look-alike dash', 'https://app-example.com', false],
  ['upper case', 'https://APP.example.com', false],
  ['other port', 'https://app.example.com:8443', false],
  ['explicit default port', 'https://app.example.com:443', false],
  ['other scheme', 'http://app.example.com', false],
  ['listed host, next port', 'http://localhost:3001', false],
  ['trailing slash', 'https://app.example.com/', false],
];

function http(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      resolve({ status: res.statusCode!, headers: res.headers });
      res.destroy();
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('origin matrix', () => {
  it('every door admits exactly the listed origins (and clients without Origin); CORS only for listed ones', async () => {
    const { port } = await startBroker({ transports: [ws(), socketio(), sse(), httpApi()], allowedOrigins: ALLOWED });
    type Door = { name: string; probe: (h: Record<string, string>) => Promise<{ status: number; headers: Record<string, unknown> }>; ok: number };
    const doors: Door[] = [
      { name: 'ws upgrade', ok: 101, probe: async (h) => {
        const r = await rawConnect(port, { headers: h });
        r.client?.socket.destroy();
        return { status: r.status, headers: {} };
      } },
      { name: 'socket.io websocket', ok: 101, probe: async (h) => {
        const r = await rawConnect(port, { path: '/socket.io/?EIO=4&transport=websocket', headers: h });
        r.client?.socket.destroy();
        return { status: r.status, headers: {} };
      } },
      { name: 'socket.io polling', ok: 200, probe: (h) => http(port, 'GET', '/socket.io/?EIO=4&transport=polling', h) },
      { name: 'SSE', ok: 200, probe: (h) => http(port, 'GET', '/events?topic=a', h) },
      { name: 'HTTP publish', ok: 200, probe: (h) => http(port, 'POST', '/api/publish', { ...h, 'content-type': 'application/json' }, '{"topic":"a","data":1}') },
      { name: 'HTTP preflight', ok: 204, probe: (h) => http(port, 'OPTIONS', '/api/publish', { ...h, 'access-control-request-method': 'POST' }) },
    ];
    const mismatches: string[] = [];
    let checks = 0;
    for (const door of doors) {
      for (const [label, origin, allowed] of ORIGINS) {
        if (door.name === 'HTTP preflight' && origin === undefined) continue; // a preflight always has an Origin
        const { status, headers } = await door.probe(origin === undefined ? {} : { origin });
        checks++;
        const expected = allowed ? door.ok : 403;
        if (status !== expected) mismatches.push(`${door.name} / ${label}: ${status}, expected ${expected}`);
        if (door.name.startsWith('HTTP') || door.name === 'SSE') {
          const acao = headers['access-control-allow-origin'];
          // CORS answers echo a listed origin only, never '*'.
          if (acao !== (allowed && origin !== undefined ? origin : undefined)) mismatches.push(`${door.name} / ${label}: ACAO ${String(acao)}`);
          if (acao !== undefined && headers['access-control-allow-credentials'] !== 'true') mismatches.push(`${door.name} / ${label}: no credentials header`);
        }
      }
    }
    console.info(`[security] origin matrix: ${ORIGINS.length} origins x ${doors.length} doors = ${checks} checks, ${mismatches.length} mismatches`);
    expect(mismatches).toEqual([]);
    expect(checks).toBe(ORIGINS.length * doors.length - 1);
  });

  it("allowedOrigins '*' (the binary's anonymous development mode): every door admits any origin alike, CORS without credentials", async () => {
    const { port } = await startBroker({ transports: [ws(), socketio(), sse(), httpApi()], allowedOrigins: '*' });
    const origin = 'http://localhost:5173';
    const ws101 = await rawConnect(port, { headers: { origin } });
    ws101.client?.socket.destroy();
    expect(ws101.status).toBe(101);
    const answers = [
      await http(port, 'GET', '/socket.io/?EIO=4&transport=polling', { origin }),
      await http(port, 'GET', '/events?topic=a', { origin }),
      await http(port, 'POST', '/api/publish', { origin, 'content-type': 'application/json' }, '{"topic":"a","data":1}'),
      await http(port, 'OPTIONS', '/api/publish', { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 204]);
    for (const a of answers) {
      expect(a.headers['access-control-allow-origin']).toBe(origin);
      expect(a.headers['access-control-allow-credentials']).toBeUndefined();
    }
  });

  it('a listed policy also admits pages the broker serves itself (Origin host = Host), and nothing that merely resembles it', async () => {
    const { port } = await startBroker({ transports: [ws(), httpApi()], allowedOrigins: [] });
    const own = await rawConnect(port, { headers: { origin: `http://127.0.0.1:${port}` } });
    own.client?.socket.destroy();
    expect(own.status).toBe(101);
    for (const origin of [`http://127.0.0.1:${port + 1}`, `http://127.0.0.1:${port}.evil.io`, 'null']) {
      const r = await rawConnect(port, { headers: { origin } });
      r.client?.socket.destroy();
      expect(r.status, origin).toBe(403);
    }
  });

  it('without allowedOrigins: no origin check and no CORS headers at all', async () => {
    const { port } = await startBroker({ transports: [ws(), sse(), httpApi()] });
    const r = await rawConnect(port, { headers: { origin: 'https://anyone.example' } });
    r.client?.socket.destroy();
    expect(r.status).toBe(101);
    const res = await http(port, 'POST', '/api/publish', { origin: 'https://anyone.example', 'content-type': 'application/json' }, '{"topic":"a","data":1}');
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});
