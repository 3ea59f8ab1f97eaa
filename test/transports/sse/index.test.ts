import { describe, expect, it } from 'vitest';
import { sse } from '../../../transports/sse/index.js';
import { decodeEventId, encodeEventId } from '../../../transports/sse/event-id.js';
import { ws } from '../../../transports/ws/index.js';
import { startBroker, sleep } from '../../helpers/broker.js';
import { countEncodings } from '../../helpers/encode-counter.js';
import { SseReader } from '../../helpers/sse-reader.js';

async function broker(options: Parameters<typeof sse>[0] = {}, extra: Parameters<typeof startBroker>[0] = {}) {
  const running = await startBroker({ transports: [ws(), sse({ retry: 100, ...options })], ...extra });
  const base = `http://127.0.0.1:${running.port}`;
  const open = (query: string, headers?: Record<string, string>) => SseReader.open(`${base}/events?${query}`, headers);
  return { ...running, base, open };
}

const ready = (r: SseReader) => r.waitFor(() => r.named('herald-ready').length > 0, 'herald-ready');

describe('sse transport', () => {
  it('streams publications as default events carrying the ws msg push, with the stream headers and a retry hint', async () => {
    const b = await broker();
    const reader = await b.open('topic=chat.a&topic=news.*');
    expect(reader.status).toBe(200);
    expect(reader.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(reader.headers['cache-control']).toBe('no-cache');
    expect(reader.headers['x-accel-buffering']).toBe('no');
    await ready(reader);
    expect(reader.retry).toBe(100);
    expect(JSON.parse(reader.named('herald-ready')[0]!.data)).toEqual({ topics: ['chat.a', 'news.*'] });

    const wsClient = await b.client();
    await wsClient.request('sub', { topic: 'chat.a' });
    await wsClient.request('sub', { topic: 'news.*' });
    await b.broker.publish('chat.a', { text: 'hi' });
    await b.broker.publish('news.eu', [1, 2]);
    await b.broker.publish('other', 'not for us');
    await reader.waitFor(() => reader.messages().length === 2, 'two messages');
    await wsClient.waitForMessages(2);
    expect(reader.messages()).toEqual(wsClient.messages());
    expect(reader.messages().map((m) => m.topic)).toEqual(['chat.a', 'news.eu']);
  });

  it('sends heartbeat comments on the configured interval', async () => {
    const b = await broker({ heartbeat: 30 });
    const reader = await b.open('topic=a');
    await ready(reader);
    await reader.waitFor(() => reader.comments >= 2, 'two heartbeats');
    expect(reader.comments).toBeGreaterThanOrEqual(2);
  });

  it('refuses bad requests with JSON errors before any stream starts', async () => {
    const b = await broker({}, { limits: { maxSubscriptions: 2 } } as never);
    const cases: [string, number, string][] = [
      ['', 400, 'bad_request'],
      ['topic=a..b', 400, 'invalid_topic'],
      ['topic=a.>.b', 400, 'invalid_topic'],
      ['topic=a&topic=b&topic=c', 429, 'limit_exceeded'],
      ['topic=a&since=not-an-id!', 400, 'bad_request'],
    ];
    for (const [query, status, code] of cases) {
      const r = await b.open(query);
      await r.waitEnd();
      expect([query, r.status]).toEqual([query, status]);
      expect(JSON.parse(r.body).error.code).toBe(code);
    }
    const post = await fetch(`${b.base}/events?topic=a`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect((await post.json()).error.code).toBe('bad_request');
    expect(b.broker.stats().connections).toBe(1 - 1);
  });

  it('answers 401 when the authenticate hook rejects, and passes bearer tokens to it', async () => {
    const b = await broker({}, {
      hooks: { authenticate: (h) => { if (h.token !== 'good-token') throw new Error('no'); return { user: 'u1' }; } },
    });
    const bad = await b.open('topic=a', { authorization: 'Bearer wrong' });
    await bad.waitEnd();
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.body).error.code).toBe('unauthorized');
    const good = await b.open('topic=a', { authorization: 'Bearer good-token' });
    await ready(good);
    const viaQuery = await b.open('topic=a&access_token=good-token');
    await ready(viaQuery);
    expect(good.status).toBe(200);
  });

  it('answers 401 at once when no credential came with the request (an EventSource cannot send auth later)', async () => {
    const b = await broker({}, {
      hooks: { authenticate: (h) => (h.token === undefined ? null : { user: 'u1' }) },
      limits: { authTimeout: 60_000 },
    });
    const anonymous = await b.open('topic=a');
    // A broker that waited for the 60 s auth deadline would still hold the response open here.
    await anonymous.waitEnd(5000);
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body).error.code).toBe('unauthorized');
    expect(b.broker.stats().connections).toBe(0);
    const withToken = await b.open('topic=a&access_token=anything');
    await ready(withToken);
    expect(withToken.status).toBe(200);
  });

  it('never lets CR/LF in data forge an event, an event type or an id', async () => {
    const b = await broker();
    const reader = await b.open('topic=t');
    await ready(reader);
    const nasty = ['a\n\nid: forged\ndata: {"op":"msg"}\n\n', 'b\r\rid: x\r\revent: herald-close\r\r', 'c\r\n\r\ndata: y\r\n', 'd\u2028\u2029\0'];
    for (const data of nasty) await b.broker.publish('t', data);
    await b.broker.publish('t', { [nasty[0]!]: nasty[1] });
    await reader.waitFor(() => reader.messages().length === 5, 'five messages');
    expect(reader.messages().map((m) => m.data)).toEqual([...nasty, { [nasty[0]!]: nasty[1] }]);
    expect(reader.events.map((e) => e.event)).toEqual(['herald-ready', 'message', 'message', 'message', 'message', 'message']);
    const last = decodeEventId(reader.id);
    expect(last?.get('t')?.offset).toBe(5);
  });

  it('resumes every literal topic from Last-Event-ID: nothing missed, nothing duplicated', async () => {
    const b = await broker();
    const first = await b.open('topic=a.one&topic=b.two');
    await ready(first);
    for (let i = 1; i <= 3; i++) { await b.broker.publish('a.one', `a${i}`); await b.broker.publish('b.two', `b${i}`); }
    await first.waitFor(() => first.messages().length === 6, 'six messages');
    const id = first.id;
    first.close();
    for (let i = 4; i <= 6; i++) { await b.broker.publish('b.two', `b${i}`); await b.broker.publish('a.one', `a${i}`); }

    const second = await b.open('topic=a.one&topic=b.two', { 'last-event-id': id });
    await ready(second);
    await b.broker.publish('a.one', 'a7');
    await second.waitFor(() => second.messages('a.one').length === 4, 'a4..a7');
    expect(second.messages('a.one').map((m) => m.data)).toEqual(['a4', 'a5', 'a6', 'a7']);
    expect(second.messages('b.two').map((m) => m.data)).toEqual(['b4', 'b5', 'b6']);
    expect(second.named('herald-reset')).toEqual([]);
    expect(JSON.parse(second.named('herald-ready')[0]!.data)).toEqual({ topics: ['a.one', 'b.two'], recovered: true });
    expect(Object.fromEntries([...decodeEventId(second.id)!].map(([t, p]) => [t, p.offset]))).toEqual({ 'a.one': 7, 'b.two': 6 });
  });

  it('resumes several topics in publish order across them (a1, b1, a2, b2), not grouped by topic', async () => {
    const b = await broker();
    const first = await b.open('topic=r.a&topic=r.b');
    await ready(first);
    await b.broker.publish('r.a', 'a0');
    await first.waitFor(() => first.messages().length === 1, 'a0');
    const id = first.id;
    first.close();
    for (const data of ['a1', 'b1', 'a2', 'b2']) await b.broker.publish(`r.${data[0]}`, data);
    const second = await b.open('topic=r.a&topic=r.b', { 'last-event-id': id });
    await ready(second);
    expect(second.messages().map((m) => m.data)).toEqual(['a1', 'b1', 'a2', 'b2']);
    expect(JSON.parse(second.named('herald-ready')[0]!.data)).toMatchObject({ recovered: true });
    // Each event's id still resumes every topic from where that event left it.
    const ids = second.events.filter((e) => e.event === 'message').map((e) => Object.fromEntries([...decodeEventId(e.lastEventId)!].map(([t, p]) => [t, p.offset])));
    expect(ids.at(-1)).toEqual({ 'r.a': 3, 'r.b': 2 });
  });

  it('says herald-reset for what it cannot resume: wildcards, unreadable ids, lost history', async () => {
    const b = await broker();
    const first = await b.open('topic=a&topic=w.*');
    await ready(first);
    await b.broker.publish('w.x', 1);
    await first.waitFor(() => first.messages().length === 1, 'one message');
    first.close();

    const resumed = await b.open('topic=a&topic=w.*', { 'last-event-id': first.id });
    await ready(resumed);
    expect(JSON.parse(resumed.named('herald-reset')[0]!.data)).toEqual({ topics: ['w.*'] });
    expect(JSON.parse(resumed.named('herald-ready')[0]!.data)).toMatchObject({ recovered: false });
    // The reset comes before ready, so a client reloads before it trusts the stream again.
    expect(resumed.events.findIndex((e) => e.event === 'herald-reset')).toBeLessThan(resumed.events.findIndex((e) => e.event === 'herald-ready'));

    const garbage = await b.open('topic=a&topic=w.*', { 'last-event-id': 'nonsense' });
    await ready(garbage);
    expect(JSON.parse(garbage.named('herald-reset')[0]!.data)).toEqual({ topics: ['a', 'w.*'] });

    const lost = new Map([['a', { offset: 3, epoch: 'gone' }]]);
    const stale = await b.open(`topic=a&since=${encodeEventId(lost)}`);
    await ready(stale);
    expect(JSON.parse(stale.named('herald-reset')[0]!.data)).toEqual({ topics: ['a'] });
  });

  it('takes `since` on a first connection', async () => {
    const b = await broker();
    await b.broker.publish('s', 'one');
    const { offset, epoch } = await b.broker.publish('s', 'two');
    await b.broker.publish('s', 'three');
    const since = encodeEventId(new Map([['s', { offset: offset! - 1, epoch: epoch! }]]));
    const reader = await b.open(`topic=s&since=${since}`);
    await ready(reader);
    expect(reader.messages().map((m) => m.data)).toEqual(['two', 'three']);
    expect(JSON.parse(reader.named('herald-ready')[0]!.data)).toEqual({ topics: ['s'], recovered: true });
  });

  it('cuts a reader that stops reading at the outbound byte cap, and frees it', async () => {
    const b = await broker({}, { limits: { outboundBytes: 64 * 1024 } } as never);
    const reader = await b.open('topic=flood');
    await ready(reader);
    reader.res.pause();
    reader.res.socket.pause();
    const big = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 400 && b.broker.stats().slowConsumerCloses === 0; i++) {
      await b.broker.publish('flood', big);
      if (i % 20 === 0) await sleep(1);
    }
    expect(b.broker.stats().slowConsumerCloses).toBe(1);
    await reader.waitFor(() => b.broker.stats().connections === 0, 'the session to go');
    expect(b.broker.stats().subscriptions).toBe(0);
  });

  it('frees the session and its subscriptions as soon as the client goes away', async () => {
    const b = await broker();
    const reader = await b.open('topic=a&topic=b.*');
    await ready(reader);
    expect(b.broker.stats()).toMatchObject({ connections: 1, subscriptions: 2 });
    reader.close();
    await reader.waitFor(() => b.broker.stats().connections === 0, 'the session to go');
    expect(b.broker.stats()).toMatchObject({ connections: 0, subscriptions: 0, topics: 0 });
  });

  it('ends the stream with herald-close on shutdown', async () => {
    const b = await broker();
    const reader = await b.open('topic=a');
    await ready(reader);
    await b.broker.close();
    await reader.waitEnd();
    expect(JSON.parse(reader.named('herald-close')[0]!.data)).toEqual({ code: 1001, reason: 'shutting down', reconnect: true });
  });

  it('encodes a publication data line once for all streams', async () => {
    const b = await broker();
    const readers = await Promise.all([b.open('topic=once'), b.open('topic=once')]);
    await Promise.all(readers.map(ready));
    const encodings = countEncodings();
    await b.broker.publish('once', 'shared');
    await Promise.all(readers.map((r) => r.waitFor(() => r.messages().length === 1, 'the message')));
    // Two streams, one encoding of the whole event (and of its data lines inside it): the second
    // stream takes the first one's cached event.
    expect(Object.fromEntries(encodings.byKey)).toEqual({ 'sse.single': 1, 'sse.data': 1 });
    expect(readers.map((r) => r.messages()[0]!.data)).toEqual(['shared', 'shared']);
    expect(readers[0]!.events[1]!.lastEventId).toBe(readers[1]!.events[1]!.lastEventId);
  });
});
