/**
 * The promise of recovery end to end: a client behind a TCP proxy that cuts it off for seconds at
 * a time sees every publication of a numbered stream exactly once and in order (recovered: true);
 * after a broker restart, whose in-memory history is gone, it is told recovered: false.
 */
import { afterEach, expect, it } from 'vitest';
import { HeraldClient, type SubscribedEvent } from '../../client/index.js';
import { createBroker, type Broker } from '../../core/index.js';
import { ws } from '../../transports/ws/index.js';
import { sleep } from '../helpers/broker.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { until } from '../helpers/until.js';

const TOPICS = ['stream.a', 'stream.b', 'stream.c'];
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function brokerOn(port: number): Promise<Broker> {
  // History deep enough for a 2.5 s outage of the stream below.
  return createBroker({ port, transports: [ws()], logger: false, history: { size: 10_000 } });
}

it('sees every number exactly once and in order across cuts, and recovered:false after a broker restart', async () => {
  let broker = await brokerOn(0);
  const port = broker.address()!.port;
  cleanup.push(() => broker.close());
  const proxy: TcpProxy = await startTcpProxy(port);
  cleanup.push(() => proxy.close());

  const subscriber = new HeraldClient({ url: `ws://127.0.0.1:${proxy.port}/ws`, minReconnectDelay: 100, maxReconnectDelay: 400, protocol: 'msgpack' });
  cleanup.push(() => subscriber.close());
  const received = new Map<string, number[]>(TOPICS.map((t) => [t, []]));
  const subscribed: SubscribedEvent[] = [];
  await subscriber.connect();
  const subs = TOPICS.map((topic) => {
    const sub = subscriber.subscribe<{ n: number }>(topic, (m) => received.get(m.topic)!.push(m.data.n));
    sub.on('subscribed', (e) => subscribed.push(e));
    return sub;
  });
  await Promise.all(subs.map((s) => s.ready()));
  let connects = 0;
  subscriber.on('connected', () => connects++);

  // The publisher talks to the broker directly, never cut.
  const publisher = new HeraldClient({ url: `ws://127.0.0.1:${port}/ws` });
  cleanup.push(() => publisher.close());
  await publisher.connect();
  const sent = new Map<string, number>(TOPICS.map((t) => [t, 0]));
  let publishing = true;
  const stream = (async () => {
    for (let i = 0; publishing; i++) {
      const topic = TOPICS[i % TOPICS.length]!;
      const n = sent.get(topic)!;
      sent.set(topic, n + 1);
      await publisher.publish(topic, { n });
      if (i % 3 === 2) await sleep(4);
    }
  })();

  for (const outage of [1000, 2500, 1500]) {
    const live = sent.get(TOPICS[0]!)!;
    await until(() => received.get(TOPICS[0]!)!.length >= live + 20, 'live publications before a cut', 10_000);
    const before = subscribed.length;
    const during = sent.get(TOPICS[0]!)!;
    proxy.refuse(outage);
    proxy.drop();
    await until(() => sent.get(TOPICS[0]!)! >= during + 50, 'publications during the outage', outage + 10_000);
    await until(() => subscribed.length === before + TOPICS.length, 'resubscribe after a cut', 10_000);
    expect(subscribed.slice(before).map((e) => [e.resubscribed, e.wasRecovering, e.recovered])).toEqual(TOPICS.map(() => [true, true, true]));
  }
  publishing = false;
  await stream;
  for (const topic of TOPICS) {
    const count = sent.get(topic)!;
    await until(() => received.get(topic)!.length >= count, `all of ${topic}`, 10_000);
    expect(count).toBeGreaterThan(200); // the stream really ran through the outages
    expect(received.get(topic)).toEqual(Array.from({ length: count }, (_, n) => n));
  }
  expect(connects).toBe(3);

  // Restart (on a port the kernel picks, behind the same proxy address): a new in-memory history, a new epoch.
  const oldEpoch = subs[0]!.position!.epoch;
  const before = subscribed.length;
  await broker.close();
  broker = await brokerOn(0);
  proxy.retarget(broker.address()!.port);
  await until(() => subscribed.length === before + TOPICS.length, 'resubscribe after the restart', 10_000);
  const after = subscribed.slice(before);
  expect(after.map((e) => [e.resubscribed, e.wasRecovering, e.recovered])).toEqual(TOPICS.map(() => [true, true, false]));
  expect(after[0]!.position!.epoch).not.toBe(oldEpoch);
  // Live again on the new epoch.
  await broker.publish('stream.a', { n: -1 });
  await until(() => received.get('stream.a')!.at(-1) === -1, 'a publication after the restart', 10_000);
  expect(subs[0]!.position!.epoch).toBe(after[0]!.position!.epoch);
});
