import { request } from 'node:http';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HeraldError } from '../../../core/errors.js';
import { httpApi } from '../../../transports/http/index.js';
import { ws } from '../../../transports/ws/index.js';
import { startBroker, until } from '../../helpers/broker.js';

async function api(options: Parameters<typeof httpApi>[0] = {}, extra = {}) {
  const b = await startBroker({ transports: [ws(), httpApi(options)], ...extra });
  const base = `http://127.0.0.1:${b.port}`;
  const post = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${base}/api/publish`, { method: 'POST', headers, body });
  return { ...b, base, post };
}

describe('http api', () => {
  it('publishes to subscribers of every protocol and answers the position', async () => {
    const b = await api();
    const c = await b.client();
    await c.request('sub', { topic: 'news.eu' });
    const res = await b.post(JSON.stringify({ topic: 'news.eu', data: { headline: 'x' } }));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({ ok: true, offset: 1, epoch: expect.any(String) });
    const [msg] = await c.waitForMessages(1);
    expect(msg).toEqual({ op: 'msg', topic: 'news.eu', data: { headline: 'x' }, offset: 1, epoch: body.epoch });
    // null is data too.
    expect(await (await b.post('{"topic":"news.eu","data":null}')).json()).toMatchObject({ ok: true, offset: 2 });
  });

  it('serves history, presence and the health check', async () => {
    const b = await api();
    const c = await b.client();
    await c.request('sub', { topic: 'h' });
    for (const d of ['a', 'b', 'c']) await b.broker.publish('h', d);
    const all = await (await fetch(`${b.base}/api/history/h`)).json();
    expect(all.messages.map((m: any) => m.data)).toEqual(['a', 'b', 'c']);
    expect(all).toMatchObject({ ok: true, offset: 3 });
    const last = await (await fetch(`${b.base}/api/history/h?limit=1`)).json();
    expect(last.messages.map((m: any) => m.data)).toEqual(['c']);
    const since = await (await fetch(`${b.base}/api/history/h?since=1&epoch=${encodeURIComponent(all.epoch)}`)).json();
    expect(since).toMatchObject({ ok: true, recovered: true });
    expect(since.messages.map((m: any) => m.data)).toEqual(['b', 'c']);
    const presence = await (await fetch(`${b.base}/api/presence/h`)).json();
    expect(presence).toEqual({ ok: true, clients: [{ client: expect.any(String), user: null }] });
    const health = await fetch(`${b.base}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true, node: b.broker.nodeId, connections: 1 });
  });

  it('answers bad input with clear JSON errors and the core codes', async () => {
    const b = await api({}, { limits: { maxPayload: 1024 } });
    const cases: [Promise<Response>, number, string][] = [
      [b.post('{"topic": "a", "data": '), 400, 'bad_request'],
      [b.post(''), 400, 'bad_request'],
      [b.post('[1,2]'), 400, 'bad_request'],
      [b.post('{"topic":"a"}'), 400, 'bad_request'],
      [b.post('{"data":1}'), 400, 'bad_request'],
      [b.post('{"topic":"a.*","data":1}'), 400, 'invalid_topic'],
      [b.post('{"topic":7,"data":1}'), 400, 'invalid_topic'],
      [b.post('{"topic":"a","data":1}', { 'content-type': 'text/plain' }), 415, 'bad_request'],
      [b.post(JSON.stringify({ topic: 'a', data: 'x'.repeat(2000) })), 413, 'too_large'],
      [fetch(`${b.base}/api/publish`), 405, 'bad_request'],
      [fetch(`${b.base}/api/history/bad..topic`), 400, 'invalid_topic'],
      [fetch(`${b.base}/api/history/a?limit=-1`), 400, 'bad_request'],
      [fetch(`${b.base}/api/history/a?since=1`), 400, 'bad_request'],
      [fetch(`${b.base}/api/presence/`), 400, 'invalid_topic'],
      [fetch(`${b.base}/api/presence/%E0%A4%A`), 400, 'invalid_topic'],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      const body = await res.json();
      expect([res.status, body.ok, body.error.code]).toEqual([status, false, code]);
      expect(body.error.message).toEqual(expect.any(String));
    }
    expect((await b.broker.history('a')).publications).toHaveLength(0);
  });

  it('answers 415 to a POST without a Content-Type (a cross-site fetch or form could send one without preflight)', async () => {
    const b = await api();
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${b.base}/api/publish`, { method: 'POST' }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (t) => (text += t)).on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', reject);
      req.end('{"topic":"a","data":1}');
    });
    expect(status).toBe(415);
    expect(JSON.parse(body)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect((await b.broker.history('a')).publications).toHaveLength(0);
  });

  it('logs an upload the client aborted at debug, not as an error', async () => {
    const lines: { level: number; msg: string }[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l)); done(); } });
    const b = await api({}, { logger: pino({ level: 'debug' }, sink) });
    const req = request(`${b.base}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '1000' } });
    req.on('error', () => undefined);
    // Headers and part of the body handed to the socket, then the client goes away mid-upload.
    await new Promise<void>((resolve) => req.write('{"topic":"a","data":"', () => resolve()));
    req.destroy();
    await until(() => lines.some((l) => /aborted/.test(l.msg)), 'the abort to be logged');
    expect(lines.filter((l) => /aborted/.test(l.msg)).map((l) => l.level)).toEqual([20]);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
  });

  it('refuses a chunked body over the limit with 413 while it streams in, before the rest arrives', async () => {
    const b = await api({}, { limits: { maxPayload: 1024 } });
    let sentRest = false;
    const { status, body, beforeRest } = await new Promise<{ status: number; body: string; beforeRest: boolean }>((resolve, reject) => {
      const req = request(`${b.base}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        const beforeRest = !sentRest;
        let text = '';
        res.setEncoding('utf8').on('data', (t) => (text += t)).on('end', () => resolve({ status: res.statusCode!, body: text, beforeRest }));
      });
      req.on('error', reject);
      // The first chunk alone is over the limit; the rest only goes if no answer came within 5 s.
      req.write(`{"topic":"a","data":"${'x'.repeat(1200)}`);
      setTimeout(() => { sentRest = true; req.end('"}'); }, 5000).unref();
    });
    expect(status).toBe(413);
    expect(beforeRest).toBe(true);
    expect(JSON.parse(body).error.code).toBe('too_large');
  });

  it('runs every route through one guard', async () => {
    const seen: string[] = [];
    const b = await api({
      guard: (req, action, topic) => {
        seen.push(`${action}:${topic}`);
        if (req.headers['x-key'] !== 'k') throw new HeraldError('unauthorized', 'no key');
      },
    });
    expect((await b.post('{"topic":"g","data":1}')).status).toBe(401);
    expect((await fetch(`${b.base}/api/history/g`)).status).toBe(401);
    expect((await fetch(`${b.base}/api/presence/g`, { headers: { 'x-key': 'k' } })).status).toBe(200);
    expect((await b.post('{"topic":"g","data":1}', { 'content-type': 'application/json', 'x-key': 'k' })).status).toBe(200);
    expect(seen).toEqual(['publish:g', 'history:g', 'presence:g', 'publish:g']);
    expect((await b.broker.history('g')).publications).toHaveLength(1);
  });
});
