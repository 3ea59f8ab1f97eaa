/** HeraldClient against a real broker over real sockets: the command API, subscriptions, events. */
import { describe, expect, it } from 'vitest';
import { HeraldClient, HeraldClientError, type Message } from '../../client/index.js';
import { startBroker } from '../helpers/broker.js';

const clients: HeraldClient[] = [];
function client(url: string, options: Partial<ConstructorParameters<typeof HeraldClient>[0]> = {}): HeraldClient {
  const c = new HeraldClient({ url, minReconnectDelay: 50, maxReconnectDelay: 200, ...options });
  clients.push(c);
  return c;
}

import { afterEach } from 'vitest';
import { until } from '../helpers/until.js';
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('HeraldClient', () => {
  for (const protocol of ['json', 'msgpack'] as const) {
    it(`subscribes, publishes and receives typed payloads (${protocol})`, async () => {
      const { url } = await startBroker();
      const c = client(url, { protocol });
      const states: string[] = [];
      c.on('state', (s) => states.push(s));
      await c.connect();
      expect(c.state).toBe('connected');
      type Chat = { text: string; n: number };
      const got: Message<Chat>[] = [];
      const sub = c.subscribe<Chat>('chat.room1', (m) => got.push(m));
      const ready = await sub.ready();
      expect(ready).toMatchObject({ topic: 'chat.room1', resubscribed: false, recovered: false, wasRecovering: false });
      expect(ready.position).toEqual({ offset: 0, epoch: expect.any(String) });
      const result = await c.publish<Chat>('chat.room1', { text: 'hi', n: 1 });
      expect(result).toEqual({ offset: 1, epoch: ready.position!.epoch });
      await until(() => got.length === 1);
      expect(got[0]).toEqual({ topic: 'chat.room1', data: { text: 'hi', n: 1 }, offset: 1, epoch: ready.position!.epoch });
      expect(sub.position).toEqual({ offset: 1, epoch: ready.position!.epoch });
      expect(states).toEqual(['connecting', 'connected']);
    });
  }

  it('hands one publication to every local subscription that matches it', async () => {
    const { url } = await startBroker();
    const c = client(url);
    await c.connect();
    const exact: unknown[] = [];
    const wild: unknown[] = [];
    const tail: unknown[] = [];
    await Promise.all([
      c.subscribe('user.42.inbox', (m) => exact.push(m.data)).ready(),
      c.subscribe('user.*.inbox', (m) => wild.push(m.data)).ready(),
      c.subscribe('user.>', (m) => tail.push(m.data)).ready(),
    ]);
    await c.publish('user.42.inbox', 'a');
    await c.publish('user.7.inbox', 'b');
    await c.publish('user.7.outbox', 'c');
    await until(() => tail.length === 3);
    expect(exact).toEqual(['a']);
    expect(wild).toEqual(['a', 'b']);
    expect(tail).toEqual(['a', 'b', 'c']);
  });

  it('iterates a subscription asynchronously until it is unsubscribed', async () => {
    const { url } = await startBroker();
    const c = client(url);
    await c.connect();
    const sub = c.subscribe<number>('ticks');
    await sub.ready();
    const seen: number[] = [];
    const loop = (async () => {
      for await (const m of sub) {
        seen.push(m.data);
        if (seen.length === 3) await sub.unsubscribe();
      }
    })();
    for (let i = 1; i <= 5; i++) await c.publish('ticks', i);
    await loop;
    expect(seen).toEqual([1, 2, 3]);
    expect(sub.state).toBe('unsubscribed');
    expect(c.getSubscription('ticks')).toBeUndefined();
  });

  it('reports presence, presence events and history', async () => {
    const { url } = await startBroker();
    const a = client(url);
    const b = client(url);
    await Promise.all([a.connect(), b.connect()]);
    const events: string[] = [];
    const sub = a.subscribe('room.1', undefined, { presence: true });
    sub.on('join', (e) => events.push(`join ${e.topic}`));
    sub.on('leave', (e) => events.push(`leave ${e.topic}`));
    await sub.ready();
    const bSub = b.subscribe('room.1');
    await bSub.ready();
    const present = await a.presence('room.1');
    expect(present).toHaveLength(2);
    await bSub.unsubscribe();
    // Its own join first (the server adds the watcher before the join), then b's join and leave.
    await until(() => events.length === 3);
    expect(events).toEqual(['join room.1', 'join room.1', 'leave room.1']);

    for (let i = 1; i <= 4; i++) await b.publish('room.1', { i });
    const all = await a.history<{ i: number }>('room.1');
    expect(all.messages.map((m) => m.data.i)).toEqual([1, 2, 3, 4]);
    const since = await a.history<{ i: number }>('room.1', { since: { offset: 2, epoch: all.position.epoch } });
    expect(since.messages.map((m) => m.data.i)).toEqual([3, 4]);
    expect(since.recovered).toBe(true);
    const last = await a.history('room.1', { limit: 1 });
    expect(last.messages).toHaveLength(1);
  });

  it('rejects bad topics locally and server errors with their protocol code', async () => {
    const { url } = await startBroker({ hooks: { authorize: (_p, action, topic) => !(action === 'publish' && topic === 'locked') } });
    const c = client(url);
    await c.connect();
    expect(() => c.subscribe('bad..topic')).toThrow(HeraldClientError);
    await expect(c.publish('a.*', 1)).rejects.toMatchObject({ code: 'invalid_topic' });
    await expect(c.publish('locked', 1)).rejects.toMatchObject({ code: 'forbidden' });
    c.subscribe('dup');
    expect(() => c.subscribe('dup')).toThrow(/already subscribed/);
  });

  it('ends a subscription the server refuses, with the error', async () => {
    const { url } = await startBroker({ hooks: { authorize: (_p, action, topic) => !(action === 'subscribe' && topic === 'secret') } });
    const c = client(url);
    await c.connect();
    const sub = c.subscribe('secret');
    await expect(sub.ready()).rejects.toMatchObject({ code: 'forbidden' });
    expect(sub.state).toBe('unsubscribed');
    expect(c.getSubscription('secret')).toBeUndefined();
    // The iterator of an ended subscription reports why.
    await expect(sub[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('queues commands made while connecting and sends them once connected', async () => {
    const { url } = await startBroker();
    const c = client(url);
    const connecting = c.connect();
    expect(c.state).toBe('connecting');
    const published = c.publish('early', 'x');
    await connecting;
    await expect(published).resolves.toEqual({ offset: 1, epoch: expect.any(String) });
  });

  it('close() ends subscriptions and iterators and rejects later commands', async () => {
    const { url } = await startBroker();
    const c = client(url);
    await c.connect();
    const sub = c.subscribe('x');
    await sub.ready();
    const it = sub[Symbol.asyncIterator]();
    const next = it.next();
    const disconnected: unknown[] = [];
    c.on('disconnected', (e) => disconnected.push(e));
    await c.close();
    await expect(next).resolves.toEqual({ value: undefined, done: true });
    expect(sub.state).toBe('unsubscribed');
    expect(c.state).toBe('disconnected');
    expect(disconnected).toEqual([{ code: 1000, reason: 'client closed' }]);
    await expect(c.publish('x', 1)).rejects.toMatchObject({ code: 'closed' });
  });

  it('reconnects after a server close (1001, 4008) and resubscribes with recovery', async () => {
    const { url, broker } = await startBroker();
    const sessions: { close(code: number, reason: string): void }[] = [];
    broker.on('connect', (s) => sessions.push(s));
    const c = client(url);
    await c.connect();
    const got: number[] = [];
    const sub = c.subscribe<number>('feed', (m) => got.push(m.data));
    const subscribed: { recovered: boolean; resubscribed: boolean }[] = [];
    sub.on('subscribed', (e) => subscribed.push(e));
    await sub.ready();
    await broker.publish('feed', 1);
    await until(() => got.length === 1);
    const codes: (number | undefined)[] = [];
    c.on('connecting', (e) => codes.push(e.code));
    for (const code of [4008, 1001]) {
      const connected = new Promise((r) => c.once('connected', r));
      sessions.at(-1)!.close(code, 'test');
      await broker.publish('feed', got.length + 1); // published while the client is away
      await connected;
      await until(() => subscribed.length === (code === 4008 ? 2 : 3));
    }
    await until(() => got.length === 3);
    expect(codes).toEqual([4008, 1001]);
    expect(got).toEqual([1, 2, 3]);
    expect(subscribed.slice(1)).toEqual([
      expect.objectContaining({ recovered: true, resubscribed: true, wasRecovering: true }),
      expect.objectContaining({ recovered: true, resubscribed: true, wasRecovering: true }),
    ]);
  });

  it('recover: false never sends since (a reconnect replays nothing); a saved Position recovers from there on the first subscribe', async () => {
    const { url, broker } = await startBroker();
    const sessions: { close(code: number, reason: string): void }[] = [];
    broker.on('connect', (s) => sessions.push(s));
    const c = client(url);
    await c.connect();
    const got: number[] = [];
    const sub = c.subscribe<number>('nr', (m) => got.push(m.data), { recover: false });
    const events: { recovered: boolean; resubscribed: boolean; wasRecovering: boolean }[] = [];
    sub.on('subscribed', (e) => events.push(e));
    await sub.ready();
    await broker.publish('nr', 1);
    await until(() => got.length === 1);
    const back = new Promise((r) => c.once('connected', r));
    sessions.at(-1)!.close(1001, 'test');
    await broker.publish('nr', 2); // missed while away: recover:false must not bring it back
    await back;
    await until(() => events.length === 2);
    await broker.publish('nr', 3);
    await until(() => got.length === 2);
    expect(got).toEqual([1, 3]);
    expect(events[1]).toMatchObject({ resubscribed: true, wasRecovering: false, recovered: false });

    // Saved position (say, across a page reload): a new client recovers from it at once.
    const saved = sub.position!;
    await broker.publish('nr', 4);
    await broker.publish('nr', 5);
    const reloaded = client(url);
    await reloaded.connect();
    const again: number[] = [];
    const resumed = reloaded.subscribe<number>('nr', (m) => again.push(m.data), { recover: saved });
    const first = new Promise<{ recovered: boolean; resubscribed: boolean; wasRecovering: boolean }>((r) => resumed.once('subscribed', r));
    await resumed.ready();
    expect(await first).toMatchObject({ resubscribed: false, wasRecovering: true, recovered: true });
    expect(again).toEqual([4, 5]); // replayed before ready() resolved

    // A wildcard cannot recover: recover:true on a pattern sends no since and says recovered:false.
    const pattern = reloaded.subscribe('nr.*');
    const patternEvent = new Promise<{ recovered: boolean; wasRecovering: boolean }>((r) => pattern.once('subscribed', r));
    await pattern.ready();
    expect(await patternEvent).toMatchObject({ wasRecovering: false, recovered: false });
  });

  it('a publish whose connection dies before the reply fails with disconnected and is never sent again (at most once)', async () => {
    const held: (() => void)[] = [];
    let publishes = 0;
    const { port } = await startBroker({
      hooks: {
        authorize: (_p, action, topic) => {
          if (action !== 'publish' || topic !== 'once') return true;
          publishes++;
          return new Promise<boolean>((resolve) => held.push(() => resolve(true)));
        },
      },
    });
    const { startTcpProxy } = await import('../helpers/tcp-proxy.js');
    const proxy = await startTcpProxy(port);
    const { TestClient } = await import('../helpers/ws-client.js');
    const watcher = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
    await watcher.request('sub', { topic: 'once' });
    try {
      const c = client(`ws://127.0.0.1:${proxy.port}/ws`);
      await c.connect();
      const publishing = c.publish('once', 'only one');
      await until(() => publishes === 1); // the broker has it, the reply is held
      const back = new Promise((r) => c.once('connected', r));
      proxy.drop();
      await expect(publishing).rejects.toMatchObject({ code: 'disconnected' });
      await back;
      for (const release of held.splice(0)) release();
      await c.ping(); // a resend queued at reconnect would have gone out before this ping
      await c.publish('once.after', 'marker');
      expect(publishes).toBe(1);
      expect(held).toHaveLength(0);
      await watcher.request('ping');
      expect(watcher.messages('once').length).toBeLessThanOrEqual(1);
    } finally {
      await watcher.close();
      await proxy.close();
    }
  });
});
