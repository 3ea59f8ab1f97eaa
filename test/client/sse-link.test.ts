/**
 * The SSE fallback against the real SSE transport and HTTP API, on a broker without WebSocket:
 * receive over EventSource, publish/presence/history over HTTP, subscription changes, and recovery
 * after the stream is cut.
 */
import { afterEach, expect, it } from 'vitest';
import { HeraldClient, type EventSourceConstructor, type SubscribedEvent } from '../../client/index.js';
import { httpApi } from '../../transports/http/index.js';
import { sse } from '../../transports/sse/index.js';
import { sleep, startBroker } from '../helpers/broker.js';
import { EventSource } from '../helpers/eventsource.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/until.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

it('falls back to SSE + HTTP when the WebSocket cannot open, and recovers after a cut', async () => {
  const { port, broker } = await startBroker({ transports: [sse(), httpApi()] });
  const proxy: TcpProxy = await startTcpProxy(port);
  cleanup.push(() => proxy.close());
  const c = new HeraldClient({
    url: `ws://127.0.0.1:${proxy.port}/ws`,
    sse: { EventSource: EventSource as unknown as EventSourceConstructor },
    minReconnectDelay: 50,
    maxReconnectDelay: 200,
  });
  cleanup.push(() => c.close());
  const transports: string[] = [];
  c.on('connected', (e) => transports.push(e.transport));
  await c.connect();
  expect(transports).toEqual(['sse']);

  const got = new Map<string, number[]>([['feed.a', []], ['feed.b', []], ['feed.c', []]]);
  const subscribed: SubscribedEvent[] = [];
  const subscribe = (topic: string) => {
    const sub = c.subscribe<number>(topic, (m) => got.get(m.topic)!.push(m.data));
    sub.on('subscribed', (e) => subscribed.push(e));
    return sub;
  };
  const [a, b] = [subscribe('feed.a'), subscribe('feed.b')];
  await Promise.all([a.ready(), b.ready()]);
  expect(subscribed.map((e) => [e.topic, e.recovered])).toEqual([['feed.a', false], ['feed.b', false]]);

  // Publish over HTTP, receive over the stream.
  expect(await c.publish('feed.a', 1)).toEqual({ offset: 1, epoch: expect.any(String) });
  await c.publish('feed.b', 1);
  await until(() => got.get('feed.a')!.length === 1 && got.get('feed.b')!.length === 1, 'first publications');

  // A new subscription reopens the stream; the others resume without loss or duplicates.
  const publishing = (async () => { for (let n = 2; n <= 30; n++) { await broker.publish('feed.a', n); await sleep(2); } })();
  await until(() => got.get('feed.a')!.length >= 2, 'the publisher to be under way');
  const cSub = subscribe('feed.c');
  await cSub.ready();
  await publishing;
  await until(() => got.get('feed.a')!.length === 30, 'feed.a through the reopen');
  expect(got.get('feed.a')).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));

  // Cut the stream: the client reconnects over SSE (the WebSocket still cannot open) and recovers.
  const before = subscribed.length;
  proxy.refuse(300);
  proxy.drop();
  await broker.publish('feed.b', 2);
  await broker.publish('feed.c', 1);
  await until(() => subscribed.length === before + 3, 'resubscribe after the cut');
  expect(subscribed.slice(before).map((e) => [e.topic, e.resubscribed, e.recovered]).sort()).toEqual([
    ['feed.a', true, true], ['feed.b', true, true], ['feed.c', true, true],
  ]);
  await until(() => got.get('feed.b')!.length === 2 && got.get('feed.c')!.length === 1, 'publications made during the cut');
  expect(got.get('feed.b')).toEqual([1, 2]);
  expect(transports).toEqual(['sse', 'sse']);

  // Presence and history over the HTTP API; unsubscribe narrows the stream.
  expect((await c.history<number>('feed.b')).messages.map((m) => m.data)).toEqual([1, 2]);
  expect(await c.presence('feed.a')).toHaveLength(1);
  await b.unsubscribe();
  await until(async () => (await c.presence('feed.b')).length === 0, 'feed.b presence to empty after the unsubscribe');
  expect(await c.presence('feed.b')).toHaveLength(0);
});

it('SSE fallback with a refused token: the stream 401 is an unauthorized stop (or a getToken refresh), never an endless retry', async () => {
  const { port } = await startBroker({
    transports: [sse(), httpApi()],
    hooks: { authenticate: (h) => { if (h.token !== 'good') throw new Error('bad token'); return { user: 'ann' }; } },
  });
  const sseOptions = { EventSource: EventSource as unknown as EventSourceConstructor };
  const url = `ws://127.0.0.1:${port}/ws`; // no WebSocket transport: the upgrade fails, the fallback takes over
  const fixed = new HeraldClient({ url, token: 'bad', sse: sseOptions, minReconnectDelay: 20, maxReconnectDelay: 50 });
  cleanup.push(() => fixed.close());
  const reasons: string[] = [];
  fixed.on('connecting', (e) => reasons.push(e.reason));
  const stopped = new Promise<{ code: number; error?: { code: string } }>((r) => fixed.once('disconnected', r));
  const sub = fixed.subscribe('private');
  void fixed.connect().catch(() => undefined);
  const stop = await stopped;
  expect(stop).toMatchObject({ code: 4001, error: { code: 'unauthorized' } });
  expect(fixed.state).toBe('disconnected');
  expect(sub.state).not.toBe('subscribed');
  expect(reasons).toEqual(['connect']); // no retry after the refusal

  // With getToken: the 401 asks for a new token, as a 4001 on a WebSocket does.
  const tokens = ['bad', 'good'];
  let asked = 0;
  const refreshing = new HeraldClient({ url, getToken: () => tokens[asked++] ?? null, sse: sseOptions, minReconnectDelay: 20, maxReconnectDelay: 50 });
  cleanup.push(() => refreshing.close());
  await refreshing.connect();
  const got: unknown[] = [];
  const ok = refreshing.subscribe('private', (m) => got.push(m.data));
  await ok.ready();
  expect(asked).toBe(2);
  expect(await refreshing.publish('private', 'hi')).toMatchObject({ offset: 1 });
  await until(() => got.length === 1, 'the publication over the stream');
  expect(got).toEqual(['hi']);
});

it('over the SSE fallback: a server unsubscribe ends that subscription only, a server subscribe delivers, 4003 stops the client', async () => {
  const { broker } = await startBroker({
    transports: [sse(), httpApi()],
    hooks: { authenticate: (h) => (h.token === undefined ? null : { user: h.token }) },
  });
  const port = broker.address()!.port;
  const c = new HeraldClient({ url: `ws://127.0.0.1:${port}/ws`, token: 'zoe', sse: { EventSource: EventSource as unknown as EventSourceConstructor }, minReconnectDelay: 20, maxReconnectDelay: 50 });
  cleanup.push(() => c.close());
  let connects = 0;
  c.on('connected', () => connects++);
  await c.connect();
  const a = c.subscribe('a');
  const b = c.subscribe('b');
  const gotB: unknown[] = [];
  b.on('message', (m) => gotB.push(m.data));
  await Promise.all([a.ready(), b.ready()]);
  const ended = new Promise((resolve) => a.on('unsubscribed', resolve));
  expect(await broker.unsubscribe({ user: 'zoe' }, 'a')).toMatchObject({ connections: 1 });
  expect(await ended).toEqual({ topic: 'a', reason: 'server' });
  await broker.publish('b', 'still here');
  await until(() => gotB.length === 1, 'b after a was dropped');
  expect(connects).toBe(1); // the stream went on: no reconnect

  const announced = new Promise((resolve) => c.on('serverSubscribed', resolve));
  const extra: unknown[] = [];
  c.on('message', (m) => extra.push(m.data));
  await broker.subscribe({ user: 'zoe' }, 'c');
  expect(await announced).toMatchObject({ topic: 'c' });
  await broker.publish('c', 'from the server side');
  await until(() => extra.length === 1, 'the server-side subscription delivers');
  expect(extra).toEqual(['from the server side']);

  const stopped = new Promise<{ code: number }>((resolve) => c.on('disconnected', resolve));
  await broker.disconnect({ user: 'zoe' }, { code: 4003, reason: 'banned' });
  expect((await stopped).code).toBe(4003);
  expect(c.state).toBe('disconnected');
  expect(connects).toBe(1);
});
