/**
 * Issue 12, defect 2: one deeply nested publication must never harm anyone else. Data deeper than
 * limits.maxDepth is refused with bad_request on every transport and the HTTP API; a publication one
 * encoder cannot encode (an application raised maxDepth) is skipped for that subscriber alone,
 * logged and counted, and a subscribe whose replay holds it still answers and then receives live.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, until } from '../helpers/broker.js';
import { closeSocketIoClients, connectSocketIo } from '../helpers/socketio-client.js';
import { SseReader } from '../helpers/sse-reader.js';
import { httpApi } from '../../transports/http/index.js';
import { socketio } from '../../transports/socketio/index.js';
import { sse } from '../../transports/sse/index.js';
import { ws } from '../../transports/ws/index.js';

afterEach(() => closeSocketIoClients());

function nested(levels: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

describe('poison payloads', () => {
  it('data deeper than limits.maxDepth (default 64) is refused with bad_request on ws (json, msgpack), socket.io and the HTTP API; 64 levels pass', async () => {
    const b = await startBroker({ transports: [ws(), socketio(), httpApi()] });
    const json = await b.client();
    const msgpack = await b.client('msgpack');
    const sio = await connectSocketIo(b.port);
    const deep = nested(1000); // the clients' own encoders recurse too
    for (const c of [json, msgpack]) {
      expect(await c.request('pub', { topic: 't', data: nested(64) })).toMatchObject({ ok: true });
      expect(await c.request('pub', { topic: 't', data: nested(65) })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
      expect(await c.request('pub', { topic: 't', data: deep })).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    }
    expect(await sio.socket.emitWithAck('publish', 't', deep)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    const res = await fetch(`http://127.0.0.1:${b.port}/api/publish`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic: 't', data: nested(2500) }), // the 5 KB frame
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    await expect(b.broker.publish('t', deep)).rejects.toMatchObject({ code: 'bad_request' });
    expect((await b.broker.history('t')).publications.map((p) => p.data)).toEqual([nested(64), nested(64)]);
  });

  it('a publication one encoder cannot encode is skipped for that subscriber alone (logged, counted); the others get it and everyone gets the next', async () => {
    const b = await startBroker({ transports: [ws(), socketio(), sse()], limits: { maxDepth: 100_000 } });
    // msgpackr overflows the stack near 1,500 levels, JSON.stringify past 2,000: 1,750 fails for msgpack only.
    const poison = nested(1750);
    const msgpack = await b.client('msgpack'); // subscribed first: the old fan-out loop stopped here
    await msgpack.request('sub', { topic: 'room' });
    const json = await b.client();
    await json.request('sub', { topic: 'room' });
    const sio = await connectSocketIo(b.port);
    expect(await sio.socket.emitWithAck('subscribe', 'room')).toMatchObject({ ok: true });
    const stream = await SseReader.open(`http://127.0.0.1:${b.port}/events?topic=room`);
    await until(() => stream.events.some((e) => e.event === 'herald-ready'), 'the SSE stream to be ready');
    const before = b.broker.stats();

    await expect(b.broker.publish('room', poison)).resolves.toMatchObject({ offset: 1 });
    await b.broker.publish('room', 'after');
    await json.waitForMessages(2, 'room');
    await until(() => sio.messages.length === 2 && stream.messages('room').length === 2, 'socket.io and SSE to get both');
    await msgpack.waitForMessages(1, 'room');
    expect(msgpack.messages('room').map((m) => m.data)).toEqual(['after']);
    expect(json.messages('room')[0]!.data).toEqual(poison);
    const after = b.broker.stats();
    expect(after.encodeFailures - before.encodeFailures).toBe(1);
    expect(after.deliveries - before.deliveries).toBe(4 + 3); // only what was delivered counts
  });

  it('a stream of unencodable publications writes a bounded number of error lines', async () => {
    let errors = 0;
    const sink = new Writable({ write(chunk, _enc, done) { for (const l of String(chunk).split('\n')) if (l && JSON.parse(l).level >= 50) errors++; done(); } });
    const b = await startBroker({ limits: { maxDepth: 100_000 }, logger: pino({ level: 'info' }, sink) });
    const c = await b.client('msgpack');
    await c.request('sub', { topic: 'room' });
    const poison = nested(1750);
    const started = Date.now();
    for (let i = 0; i < 100; i++) await b.broker.publish('room', poison);
    await b.broker.publish('room', 'after');
    await c.waitForMessages(1, 'room');
    expect(b.broker.stats().encodeFailures).toBe(100);
    expect(errors).toBeGreaterThan(0);
    // 10 lines per kind per 10 s window (a loaded machine may need more than one window).
    expect(errors).toBeLessThanOrEqual(10 * (1 + Math.floor((Date.now() - started) / 10_000)));
  });

  it('a sub with since over an unencodable publication answers recovered:false, keeps no recovery buffer and then receives live', async () => {
    const b = await startBroker({ limits: { maxDepth: 100_000 } });
    const first = await b.broker.publish('room', 'before');
    await b.broker.publish('room', nested(2500));
    const c = await b.client('msgpack');
    const reply = await c.request('sub', { topic: 'room', since: { offset: first.offset!, epoch: first.epoch! } });
    expect(reply).toMatchObject({ ok: true, recovered: false, offset: 2 });
    for (let i = 0; i < 20; i++) await b.broker.publish('room', i);
    const live = await c.waitForMessages(20, 'room');
    expect(live.map((m) => m.data)).toEqual([...Array(20).keys()]);
    expect(b.broker.stats().encodeFailures).toBe(1);
    // The subscription is an ordinary one: unsub and sub again work.
    expect(await c.request('unsub', { topic: 'room' })).toMatchObject({ ok: true });
    expect(await c.request('sub', { topic: 'room' })).toMatchObject({ ok: true, offset: 22 });
  });
});
