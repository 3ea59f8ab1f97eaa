import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryBus, memoryAdapter } from '../../core/cluster/memory-adapter.js';
import { ConfigError, createBroker } from '../../core/index.js';
import { ws } from '../../transports/ws/index.js';
import { sleep, startBroker } from '../helpers/broker.js';
import { TestClient } from '../helpers/ws-client.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    }).on('error', reject).end();
  });
}

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

describe('embedding', () => {
  it('takes exactly one of port, server, noServer, and names bad keys', async () => {
    await expect(createBroker({ transports: [ws()] })).rejects.toThrow(ConfigError);
    await expect(createBroker({ port: 0, noServer: true })).rejects.toThrow(/exactly one of port, server or noServer/);
    await expect(createBroker({ port: 0, limits: { maxPayload: -1 } } as never)).rejects.toThrow(/limits\.maxPayload/);
    await expect(createBroker({ port: 0, bogus: 1 } as never)).rejects.toThrow(ConfigError);
    await expect(createBroker({ port: 0, history: { topics: ['a..b'] } } as never)).rejects.toThrow(/history\.topics\.0/);
  });

  it('port mode: answers 404 for paths that are not Herald\'s', async () => {
    const { port } = await startBroker();
    expect((await get(port, '/nothing')).status).toBe(404);
  });

  it('server mode: shares an existing http.Server and leaves other paths to the application', async () => {
    const server = createServer((_req, res) => res.end('app says hi'));
    const appWss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/app-ws') appWss.handleUpgrade(req, socket, head, (c) => c.send('app socket'));
    });
    const broker = await createBroker({ server, transports: [ws()], logger: false });
    const port = await listen(server);
    try {
      expect(await get(port, '/some/page')).toEqual({ status: 200, body: 'app says hi' });
      const appClient = new WebSocket(`ws://127.0.0.1:${port}/app-ws`);
      const first = await new Promise<string>((r) => appClient.once('message', (d) => r(d.toString())));
      expect(first).toBe('app socket');
      appClient.close();
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
      expect(await client.request('ping')).toEqual({ id: 1, ok: true });
      await client.close();
    } finally {
      await broker.close();
      appWss.close();
    }
    // After close the application's handler is back in sole charge.
    expect(await get(port, '/x')).toEqual({ status: 200, body: 'app says hi' });
  });

  it('noServer mode: the application forwards upgrades and requests', async () => {
    const broker = await createBroker({ noServer: true, transports: [ws()], logger: false });
    const server = createServer((req, res) => {
      if (!broker.handleRequest(req, res)) res.end('not herald');
    });
    server.on('upgrade', (req, socket, head) => {
      if (!broker.handleUpgrade(req, socket, head)) socket.destroy();
    });
    const port = await listen(server);
    try {
      const client = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
      await client.request('sub', { topic: 'n.x' });
      await broker.publish('n.x', 'from app');
      const [m] = await client.waitForMessages(1);
      expect(m).toMatchObject({ topic: 'n.x', data: 'from app', offset: 1 });
      expect((await get(port, '/ws-not')).body).toBe('not herald');
      const closing = client.waitClose();
      await broker.close();
      expect(await closing).toBe(1001);
    } finally {
      await broker.close();
    }
  });
});

describe('Broker', () => {
  it('publish() from application code reaches subscribers and returns the position', async () => {
    const { broker, client } = await startBroker();
    const c = await client();
    await c.request('sub', { topic: 'user.42.notifications' });
    const result = await broker.publish('user.42.notifications', { text: 'hi' });
    expect(result).toEqual({ offset: 1, epoch: expect.any(String) });
    const [m] = await c.waitForMessages(1);
    expect(m).toEqual({ op: 'msg', topic: 'user.42.notifications', data: { text: 'hi' }, ...result });
    await expect(broker.publish('bad..topic', 1)).rejects.toMatchObject({ code: 'invalid_topic' });
    await expect(broker.publish('a.*', 1)).rejects.toMatchObject({ code: 'invalid_topic' });
  });

  it('close() closes every client with 1001 and frees the port', async () => {
    const { broker, port, client } = await startBroker();
    const clients = await Promise.all([client(), client('msgpack'), client()]);
    await clients[0]!.request('sub', { topic: 'x' });
    const codes = Promise.all(clients.map((c) => c.waitClose()));
    await broker.close();
    expect(await codes).toEqual([1001, 1001, 1001]);
    expect(broker.stats().connections).toBe(0);
    // The port is free again.
    const again = createServer();
    await new Promise<void>((resolve, reject) => again.once('error', reject).listen(port, '127.0.0.1', resolve));
    again.close();
  });

  it('emits lifecycle events: connect, subscribe, occupied, vacated, disconnect', async () => {
    const { broker, client } = await startBroker();
    const events: string[] = [];
    broker.on('connect', () => events.push('connect'));
    broker.on('subscribe', (_s, t) => events.push(`subscribe ${t}`));
    broker.on('occupied', (t) => events.push(`occupied ${t}`));
    broker.on('vacated', (t) => events.push(`vacated ${t}`));
    broker.on('disconnect', () => events.push('disconnect'));
    const c = await client();
    await c.request('sub', { topic: 'room.1' });
    await c.request('unsub', { topic: 'room.1' });
    await c.close();
    await sleep(50);
    expect(events).toEqual(['connect', 'occupied room.1', 'subscribe room.1', 'vacated room.1', 'disconnect']);
  });
});

describe('memory cluster: several brokers in one process', () => {
  it('share publications, history and presence', async () => {
    const bus = createMemoryBus();
    const a = await startBroker({ adapter: memoryAdapter({ bus }) });
    const b = await startBroker({ adapter: memoryAdapter({ bus }) });
    const onA = await a.client();
    const onB = await b.client('msgpack');
    await onA.request('sub', { topic: 'room.*' });
    await onB.request('sub', { topic: 'room.9', presence: true });
    const reply = await onA.request('pub', { topic: 'room.9', data: { from: 'a' } });
    expect(reply).toMatchObject({ ok: true, offset: 1 });
    const [fromB] = await onB.waitForMessages(1);
    expect(fromB).toMatchObject({ topic: 'room.9', data: { from: 'a' }, offset: 1, epoch: reply.epoch });
    await onB.request('pub', { topic: 'room.9', data: 'from b' });
    const got = await onA.waitForMessages(2);
    expect(got.map((m) => m.data)).toEqual([{ from: 'a' }, 'from b']);
    const presence = await onA.request('presence', { topic: 'room.9' });
    expect(presence.clients).toHaveLength(1);
    const history = await onA.request('history', { topic: 'room.9' });
    expect(history.messages.map((m: { offset: number }) => m.offset)).toEqual([1, 2]);
    // A third client joining on A is announced to B's presence watcher.
    const late = await a.client();
    const join = onB.next((m) => m.op === 'join');
    await late.request('sub', { topic: 'room.9' });
    expect(await join).toMatchObject({ op: 'join', topic: 'room.9', user: null });
  });
});

describe('Broker: a gap reported by the cluster adapter', () => {
  it('drops the affected subscriptions with an unsub push (reason gap), closes no connection, touches no one else', async () => {
    const { MemoryAdapter } = await import('../../core/cluster/memory-adapter.js');
    let node: import('../../core/contracts.js').AdapterNode | undefined;
    class Capturing extends MemoryAdapter {
      override async start(n: import('../../core/contracts.js').AdapterNode) {
        node = n;
        return super.start(n);
      }
    }
    const { broker, client } = await startBroker({ adapter: new Capturing() });
    const hit = await client();
    const wild = await client();
    const spared = await client();
    const idle = await client();
    await hit.request('sub', { topic: 'feed.a' });
    await wild.request('sub', { topic: 'feed.*' });
    await spared.request('sub', { topic: 'other' });
    await spared.request('sub', { topic: 'feed.b' });
    const hitPush = hit.next((m) => m.op === 'unsub');
    const wildPush = wild.next((m) => m.op === 'unsub');
    node!.missed(['feed.a', 'feed.*']);
    // Per subscription, never the connection: an unsub push with reason gap, then resubscribe with since.
    expect(await hitPush).toEqual({ op: 'unsub', topic: 'feed.a', reason: 'gap' });
    expect(await wildPush).toEqual({ op: 'unsub', topic: 'feed.*', reason: 'gap' });
    expect(broker.stats().gapUnsubscribes).toBe(2);
    await broker.publish('feed.a', 'after');
    await broker.publish('feed.b', 'b');
    expect((await spared.waitForMessages(1, 'feed.b'))[0]!.data).toBe('b');
    // hit no longer holds feed.a until it resubscribes; its connection and other state stay.
    const back = await hit.request('sub', { topic: 'feed.a', since: { offset: 0, epoch: (await broker.position('feed.a'))!.epoch } });
    expect(back.recovered).toBe(true);
    expect(hit.messages('feed.a').map((m) => m.data)).toEqual(['after']);
    for (const c of [hit, wild, spared, idle]) expect(c.closeCode).toBeUndefined();
  });
});
