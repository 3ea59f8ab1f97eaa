/** Command timeouts and dead-server detection (a path that stays open but carries nothing). */
import { afterEach, expect, it } from 'vitest';
import { HeraldClient, LocalCloseCodes, type ConnectingEvent } from '../../client/index.js';
import { sleep, startBroker } from '../helpers/broker.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const clients: HeraldClient[] = [];
const proxies: TcpProxy[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(proxies.splice(0).map((p) => p.close()));
});

async function behindProxy(options: Partial<ConstructorParameters<typeof HeraldClient>[0]> = {}) {
  const running = await startBroker();
  const proxy = await startTcpProxy(running.port);
  proxies.push(proxy);
  const c = new HeraldClient({ url: `ws://127.0.0.1:${proxy.port}/ws`, minReconnectDelay: 20, maxReconnectDelay: 100, ...options });
  clients.push(c);
  return { ...running, proxy, client: c };
}

it('a command without a reply fails with a clear timeout error', async () => {
  const { proxy, client } = await behindProxy({ timeout: 300, pingInterval: 0 });
  await client.connect();
  proxy.blackhole(true);
  const started = Date.now();
  const error = await client.publish('t', 1).then(() => undefined, (e: unknown) => e);
  expect(error).toMatchObject({ name: 'HeraldClientError', code: 'timeout', message: 'pub timed out: no reply within 300 ms' });
  expect(Date.now() - started).toBeGreaterThanOrEqual(290);
});

it('a command made while the broker is unreachable fails with a timeout naming the missing connection', async () => {
  const { proxy, client } = await behindProxy({ timeout: 300 });
  proxy.refuse(60_000);
  void client.connect().catch(() => undefined);
  await expect(client.presence('t')).rejects.toMatchObject({ code: 'timeout', message: 'presence timed out: no connection within 300 ms' });
  expect(client.state).toBe('connecting');
});

it('detects a dead server by an unanswered ping, reconnects and recovers', async () => {
  // connectTimeout: an attempt made while the path is still frozen must not hang for the default 10 s.
  const { proxy, client, broker } = await behindProxy({ pingInterval: 150, pingTimeout: 150, connectTimeout: 300 });
  await client.connect();
  const got: number[] = [];
  const sub = client.subscribe<number>('live', (m) => got.push(m.data));
  const events: boolean[] = [];
  sub.on('subscribed', (e) => events.push(e.recovered));
  await sub.ready();
  // Healthy and idle: pings keep it up, no reconnect.
  const drops: ConnectingEvent[] = [];
  client.on('connecting', (e) => drops.push(e));
  await sleep(600);
  expect(drops).toHaveLength(0);

  proxy.blackhole(true); // the socket stays open; nothing gets through
  const accepted = proxy.accepted;
  await broker.publish('live', 1);
  const deadline = Date.now() + 3000;
  while (drops.length === 0 && Date.now() < deadline) await sleep(10);
  expect(drops[0]).toMatchObject({ code: LocalCloseCodes.noPong, reason: 'no reply to ping' });
  proxy.blackhole(false);
  proxy.drop(); // the old, frozen path
  while (events.length < 2 && Date.now() < deadline + 3000) await sleep(10);
  expect(proxy.accepted).toBeGreaterThan(accepted);
  expect(events).toEqual([false, true]);
  while (got.length < 1 && Date.now() < deadline + 3000) await sleep(10);
  expect(got).toEqual([1]);
});

it('gives up on a connection attempt that does not open within connectTimeout', async () => {
  const { proxy, client } = await behindProxy({ connectTimeout: 200 });
  proxy.blackhole(true); // TCP connects, the upgrade never answers
  const first = new Promise<ConnectingEvent>((r) => client.on('connecting', (e) => { if (e.code !== undefined) r(e); }));
  void client.connect();
  const e = await first;
  expect(e.code).toBe(LocalCloseCodes.connectTimeout);
  expect(e.reason).toMatch(/within 200 ms/);
  proxy.blackhole(false);
  await client.connect();
  expect(client.state).toBe('connected');
});
