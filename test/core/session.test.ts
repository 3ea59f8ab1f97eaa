import { describe, expect, it, onTestFinished, vi } from 'vitest';
import type { Principal } from '../../core/contracts.js';
import { HeraldError } from '../../core/errors.js';
import { sleep, startBroker, until } from '../helpers/broker.js';
import { MemoryTransport, type StreamEntry } from '../helpers/memory-transport.js';

describe('Session: protocol v1 semantics', () => {
  it('delivers one publisher\'s publications in order, each once per session despite overlapping patterns', async () => {
    const { client } = await startBroker();
    const sub = await client();
    for (const topic of ['t.a', 't.*', 't.>', '>']) await sub.request('sub', { topic });
    const pub = await client();
    for (let i = 0; i < 200; i++) pub.send({ op: 'pub', topic: 't.a', data: i });
    await pub.request('ping');
    const got = await sub.waitForMessages(200);
    await sub.request('ping'); // a duplicate would have been queued before this reply
    expect(sub.messages()).toHaveLength(200);
    expect(got.map((m) => m.data)).toEqual([...Array(200).keys()]);
    expect(got.map((m) => m.offset)).toEqual([...Array(200).keys()].map((i) => i + 1));
  });

  it('recovers what was missed: replay before the reply, then live, no gaps and no duplicates while publishing goes on', async () => {
    const { client } = await startBroker();
    const first = await client();
    const reply = await first.request('sub', { topic: 'feed' });
    const publisher = await client();
    let n = 0;
    let running = true;
    const pumping = (async () => {
      while (running) {
        publisher.send({ op: 'pub', topic: 'feed', data: n++ });
        await sleep(1);
      }
    })();
    await first.waitForMessages(5);
    await first.close();
    const seen = first.messages();
    const last = seen[seen.length - 1]!;
    const away = n;
    await until(() => n >= away + 20, 'publications while this client is away');
    const again = await client();
    const subReply = await again.request('sub', { topic: 'feed', since: { offset: last.offset, epoch: reply.epoch } });
    expect(subReply).toMatchObject({ ok: true, recovered: true, epoch: reply.epoch });
    const back = n;
    await until(() => n >= back + 20, 'live publications after the recovery');
    running = false;
    await pumping;
    await publisher.request('ping');
    const total = n;
    const after = await again.waitForMessages(total - first.messages().length);
    const all = [...first.messages(), ...after].map((m) => m.data);
    expect(all).toEqual([...Array(total).keys()]);
    // The reply sits after every replayed publication and before every live one.
    const replyIndex = again.received.findIndex((m) => m.id === 1);
    const replayed = again.received.slice(0, replyIndex).filter((m) => m.op === 'msg');
    expect(replayed.length).toBeGreaterThan(0);
    expect(replayed.every((m) => m.offset <= subReply.offset)).toBe(true);
  });

  it('says recovered:false when the epoch is not the topic\'s (a restarted in-memory node)', async () => {
    const first = await startBroker();
    const c = await first.client();
    const { epoch } = await c.request('sub', { topic: 'x' });
    await first.broker.publish('x', 1);
    await first.broker.close();
    const second = await startBroker();
    await second.broker.publish('x', 'new life');
    const d = await second.client();
    const reply = await d.request('sub', { topic: 'x', since: { offset: 1, epoch } });
    expect(reply.recovered).toBe(false);
    expect(reply.epoch).not.toBe(epoch);
    expect(d.messages()).toEqual([]);
  });

  it('answers `since` on a wildcard with recovered:false, replays nothing, and streams live from then on', async () => {
    const { broker, client } = await startBroker();
    const at = await broker.publish('w.a', 'before 1');
    await broker.publish('w.b', 'before 2');
    const c = await client();
    for (const topic of ['w.*', 'w.>']) {
      const reply = await c.request('sub', { topic, since: at });
      // A pattern has no single position: no offset, no epoch, and never recovered:true.
      expect(reply).toEqual({ id: expect.any(Number), ok: true, recovered: false });
    }
    await broker.publish('w.a', 'live');
    const [m] = await c.waitForMessages(1);
    await c.request('ping'); // a replay or a duplicate would have been queued before this reply
    expect(c.messages()).toEqual([m]);
    expect(m).toMatchObject({ topic: 'w.a', data: 'live', offset: 2 });
  });

  it('bounds history by size and age', async () => {
    // The memory adapter ages entries by Date.now(): a frozen, then advanced, clock (timers stay real).
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => { vi.useRealTimers(); });
    const { broker, client } = await startBroker({ history: { size: 3, ttl: 150 } });
    for (let i = 1; i <= 5; i++) await broker.publish('h', i);
    const c = await client();
    expect((await c.request('history', { topic: 'h' })).messages.map((m: { data: number }) => m.data)).toEqual([3, 4, 5]);
    expect((await c.request('history', { topic: 'h', limit: 1 })).messages.map((m: { data: number }) => m.data)).toEqual([5]);
    expect((await c.request('sub', { topic: 'h', since: { offset: 1, epoch: (await broker.position('h'))!.epoch } })).recovered).toBe(false);
    vi.setSystemTime(Date.now() + 150);
    expect((await c.request('history', { topic: 'h' })).messages).toHaveLength(3); // exactly ttl old: kept
    vi.setSystemTime(Date.now() + 1);
    const aged = await c.request('history', { topic: 'h' });
    expect(aged.messages).toEqual([]);
    expect(aged.offset).toBe(5); // the position survives the expiry of the messages
  });

  it('topics outside history.topics have no offsets and answer history with unsupported', async () => {
    const { client } = await startBroker({ history: { topics: ['kept.>'] } });
    const c = await client();
    const sub = await c.request('sub', { topic: 'volatile' });
    expect(sub).toEqual({ id: 1, ok: true });
    expect(await c.request('pub', { topic: 'volatile', data: 1 })).toEqual({ id: 2, ok: true });
    expect((await c.waitForMessages(1))[0]).toEqual({ op: 'msg', topic: 'volatile', data: 1 });
    expect((await c.request('history', { topic: 'volatile' })).error.code).toBe('unsupported');
  });

  it('presence: lists literal subscribers; join/leave pushes only to those who opted in', async () => {
    const { client } = await startBroker();
    const watcher = await client();
    const quiet = await client();
    await watcher.request('sub', { topic: 'chat.r1', presence: true });
    await quiet.request('sub', { topic: 'chat.r1' });
    const joiner = await client();
    const joined = watcher.next((m) => m.op === 'join' && m.client !== undefined && m.topic === 'chat.r1');
    const reply = await joiner.request('sub', { topic: 'chat.r1' });
    expect(reply.ok).toBe(true);
    const join = await joined;
    const list = await quiet.request('presence', { topic: 'chat.r1' });
    expect(list.clients.map((c: { client: string }) => c.client)).toContain(join.client);
    expect(list.clients).toHaveLength(3);
    const left = watcher.next((m) => m.op === 'leave');
    await joiner.close();
    expect((await left).client).toBe(join.client);
    expect((await quiet.request('presence', { topic: 'chat.r1' })).clients).toHaveLength(2);
    expect(quiet.received.some((m) => m.op === 'join' || m.op === 'leave')).toBe(false);
  });

  it('presence.events patterns turn join/leave pushes on for every subscriber', async () => {
    const { client } = await startBroker({ presence: { events: ['lobby.>'] } });
    const a = await client();
    await a.request('sub', { topic: 'lobby.main' });
    const b = await client();
    const join = a.next((m) => m.op === 'join');
    await b.request('sub', { topic: 'lobby.main' });
    expect(await join).toMatchObject({ topic: 'lobby.main', user: null });
  });

  it('caps subscriptions per connection with limit_exceeded', async () => {
    const { client } = await startBroker({ limits: { maxSubscriptions: 3 } });
    const c = await client();
    for (const t of ['a', 'b', 'c']) expect((await c.request('sub', { topic: t })).ok).toBe(true);
    expect((await c.request('sub', { topic: 'd' })).error.code).toBe('limit_exceeded');
    expect((await c.request('sub', { topic: 'a' })).ok).toBe(true); // already held: idempotent
    await c.request('unsub', { topic: 'a' });
    expect((await c.request('sub', { topic: 'd' })).ok).toBe(true);
  });
});

describe('Session: hooks', () => {
  const hooks = {
    authenticate: async (h: { token?: string }): Promise<Principal | null> => {
      if (h.token === undefined) return null;
      if (h.token.startsWith('good-')) return { user: h.token.slice(5).replace(/-short$/, ''), expiresAt: h.token.endsWith('-short') ? Date.now() + 150 : undefined };
      throw new Error('bad token');
    },
    authorize: (p: Principal, action: string, topic: string) => action !== 'publish' || topic.startsWith(`user.${p.user}.`),
  };

  it("says why credentials were refused when the hook threw HeraldError('unauthorized', why), and nothing of any other error", async () => {
    const { client, url } = await startBroker({
      hooks: {
        authenticate: (h) => {
          if (h.token === undefined) return null;
          if (h.token === 'taken') throw new HeraldError('unauthorized', 'the name "taken" is in use');
          if (h.token === 'long') throw new HeraldError('unauthorized', 'é'.repeat(200));
          throw new Error('db password is hunter2');
        },
      },
    });
    const { TestClient } = await import('../helpers/ws-client.js');
    const upgrade = await TestClient.connect(`${url}?access_token=taken`);
    expect(await upgrade.waitClose()).toBe(4001);
    expect(upgrade.closeReason).toBe('the name "taken" is in use');
    const op = await client();
    const reply = await op.request('auth', { token: 'taken' });
    expect(reply.error).toEqual({ code: 'unauthorized', message: 'the name "taken" is in use' });
    expect(await op.waitClose()).toBe(4001);
    expect(op.closeReason).toBe('the name "taken" is in use');
    // A close reason must fit 123 bytes: cut on a character boundary.
    const long = await TestClient.connect(`${url}?access_token=long`);
    expect(await long.waitClose()).toBe(4001);
    expect(long.closeReason).toBe('é'.repeat(60));
    // Any other error: no word of it reaches the client.
    const other = await client();
    expect((await other.request('auth', { token: 'x' })).error).toEqual({ code: 'unauthorized', message: 'invalid credentials' });
    expect(await other.waitClose()).toBe(4001);
    expect(other.closeReason).toBe('unauthorized');
  });

  it('unauthenticated clients may only auth and ping; auth reveals client and user', async () => {
    const { client } = await startBroker({ hooks });
    const c = await client();
    expect((await c.request('sub', { topic: 'a' })).error.code).toBe('unauthorized');
    expect((await c.request('ping')).ok).toBe(true);
    const auth = await c.request('auth', { token: 'good-42' });
    expect(auth).toMatchObject({ ok: true, user: '42', client: expect.any(String) });
    expect((await c.request('sub', { topic: 'a' })).ok).toBe(true);
  });

  it('authorize denies with forbidden and nothing is routed', async () => {
    const { client, url } = await startBroker({ hooks });
    const { TestClient } = await import('../helpers/ws-client.js');
    const c = await TestClient.connect(`${url}?access_token=good-7`);
    await c.request('sub', { topic: '>' });
    expect((await c.request('pub', { topic: 'user.8.x', data: 1 })).error.code).toBe('forbidden');
    expect((await c.request('pub', { topic: 'user.7.x', data: 2 })).ok).toBe(true);
    await c.waitForMessages(1);
    await c.request('ping'); // one session's deliveries keep order: a routed 1 would have come first
    expect(c.messages().map((m) => m.data)).toEqual([2]);
    void client;
  });

  it('bad credentials close with 4001; so do an auth timeout and an expired token', async () => {
    const { url } = await startBroker({ hooks, limits: { authTimeout: 100 } });
    const { TestClient } = await import('../helpers/ws-client.js');
    const bad = await TestClient.connect(url, { headers: { authorization: 'Bearer nope' } });
    expect(await bad.waitClose()).toBe(4001);
    const silent = await TestClient.connect(url);
    expect(await silent.waitClose()).toBe(4001);
    const short = await TestClient.connect(url);
    await short.request('auth', { token: 'good-1-short' });
    expect(await short.waitClose()).toBe(4001);
    const wrongAuth = await TestClient.connect(url);
    const reply = await wrongAuth.request('auth', { token: 'evil' });
    expect(reply.error.code).toBe('unauthorized');
    expect(await wrongAuth.waitClose()).toBe(4001);
  });

  it('a refreshed token keeps the session open past the first expiry', async () => {
    const { url } = await startBroker({ hooks });
    const { TestClient } = await import('../helpers/ws-client.js');
    const c = await TestClient.connect(url);
    const firstExpiry = Date.now() + 150;
    // Sent back to back: the refresh is handled right after the first auth, well before its expiry.
    const [short, refreshed] = await Promise.all([c.request('auth', { token: 'good-1-short' }), c.request('auth', { token: 'good-1' })]);
    expect([short.ok, refreshed.ok]).toEqual([true, true]);
    await until(() => Date.now() > firstExpiry + 100, 'the first token\'s expiry to pass');
    expect(c.closeCode).toBeUndefined();
    expect((await c.request('ping')).ok).toBe(true);
  });
});

describe('Session: replies larger than the outbound cap', () => {
  it('a recovery backlog over the cap answers recovered:false instead of a 4008 loop', async () => {
    const { broker, client } = await startBroker({ limits: { outboundBytes: 16 * 1024 } });
    const c = await client();
    const { epoch } = await c.request('sub', { topic: 'big' });
    await c.close();
    for (let i = 0; i < 40; i++) await broker.publish('big', 'z'.repeat(1000)); // ~40 KiB missed
    const again = await client();
    const reply = await again.request('sub', { topic: 'big', since: { offset: 0, epoch } });
    expect(reply).toMatchObject({ ok: true, recovered: false, offset: 40 });
    expect(again.messages()).toEqual([]);
    await broker.publish('big', 'live');
    expect((await again.waitForMessages(1))[0]!.data).toBe('live');
    expect(again.closeCode).toBeUndefined();
    // A small backlog still recovers.
    const third = await client();
    const small = await third.request('sub', { topic: 'big', since: { offset: 38, epoch } });
    expect(small.recovered).toBe(true);
    expect(third.messages().map((m) => m.offset)).toEqual([39, 40, 41]);
  });

  it('a history reply over the cap is refused with too_large, the connection stays', async () => {
    const { broker, client } = await startBroker({ limits: { outboundBytes: 16 * 1024 } });
    for (let i = 0; i < 40; i++) await broker.publish('hist', 'z'.repeat(1000));
    const c = await client();
    expect((await c.request('history', { topic: 'hist' })).error.code).toBe('too_large');
    expect((await c.request('history', { topic: 'hist', limit: 5 })).messages).toHaveLength(5);
  });
});

describe('Session: reply callbacks (session.handle(raw, onReply))', () => {
  const shape = (e: StreamEntry): string =>
    e.kind === 'write' ? 'write' : e.kind === 'reply' ? 'reply' : 'id' in e.message ? `id ${e.message.id}` : `${e.message.op} ${JSON.stringify((e.message as { data?: unknown }).data)}`;

  it('hands the reply, without an id, to the callback once the frames queued before it are written', async () => {
    const memory = new MemoryTransport();
    const { broker } = await startBroker({ transports: [memory] });
    const { epoch } = await broker.publish('feed', 1);
    await broker.publish('feed', 2);
    const c = memory.connect();
    c.session.handle({ op: 'sub', topic: 'feed', since: { offset: 0, epoch } }, c.replyTo());
    await until(() => c.stream.some((e) => e.kind === 'reply'), 'the subscribe reply');
    await broker.publish('feed', 3);
    await until(() => c.messages().length === 3, 'the live publication');
    expect(c.stream.map(shape)).toEqual(['write', 'msg 1', 'msg 2', 'reply', 'write', 'msg 3']);
    expect(c.stream.find((e) => e.kind === 'reply')).toEqual({ kind: 'reply', reply: { ok: true, offset: 2, epoch, recovered: true } });
  });

  it('queues what the callback returns in the reply\'s place, and sends failures to the callback instead of an error push', async () => {
    const memory = new MemoryTransport();
    await startBroker({ transports: [memory] });
    const c = memory.connect();
    c.session.handle({ op: 'ping' }, c.replyTo((reply) => JSON.stringify({ op: 'msg', topic: 'answered', data: reply.ok })));
    c.session.handle({ op: 'sub' }, c.replyTo((reply) => JSON.stringify({ op: 'msg', topic: 'answered', data: reply.ok })));
    c.session.handle({ op: 'ping', id: 7 });
    await until(() => c.messages().length === 3, 'both answers and the wire reply');
    // The first answer is queued, so it is written before the second callback runs.
    expect(c.stream.map(shape)).toEqual(['reply', 'write', 'msg true', 'reply', 'write', 'msg false', 'id 7']);
    const replies = c.stream.flatMap((e) => (e.kind === 'reply' ? [e.reply] : []));
    expect(replies[0]).toEqual({ ok: true });
    expect(replies[1]).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });
});
