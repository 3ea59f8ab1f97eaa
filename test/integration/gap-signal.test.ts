/**
 * What each client sees when the cluster adapter reports a gap it could not repair (AdapterNode
 * .missed): the affected subscription only, never the connection. The Herald client answers the
 * `unsub` push (reason `gap`) by resubscribing with `since` and recovers; socket.io gets the
 * `herald:unsub` event; an SSE stream ends and a real EventSource resumes by Last-Event-ID.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryAdapter } from '../../core/cluster/memory-adapter.js';
import { HeraldClient, type Message, type SubscribedEvent } from '../../client/index.js';
import type { AdapterNode } from '../../core/contracts.js';
import { socketio } from '../../transports/socketio/index.js';
import { sse } from '../../transports/sse/index.js';
import { ws } from '../../transports/ws/index.js';
import { startBroker } from '../helpers/broker.js';
import { EventSource, type EventSourceLike } from '../helpers/eventsource.js';
import { closeSocketIoClients, connectSocketIo } from '../helpers/socketio-client.js';
import { until } from '../helpers/until.js';

/** A memory adapter whose AdapterNode the test can reach, to report a gap as a cluster adapter would. */
class Capturing extends MemoryAdapter {
  captured: AdapterNode | undefined;
  override async start(node: AdapterNode) {
    this.captured = node;
    return super.start(node);
  }
}

const closers: (() => unknown)[] = [];
afterEach(async () => {
  closeSocketIoClients();
  for (const close of closers.splice(0)) await close();
});

async function broker() {
  const adapter = new Capturing();
  const running = await startBroker({ adapter, transports: [ws(), socketio(), sse({ retry: 50 })] });
  return { ...running, gap: (patterns: string[]) => adapter.captured!.missed(patterns) };
}

describe('an unrepairable gap, as each client sees it', () => {
  it('HeraldClient: resubscribes that subscription with since and recovers; the connection and the others stay', async () => {
    const b = await broker();
    const c = new HeraldClient({ url: b.url, minReconnectDelay: 50 });
    closers.push(() => c.close());
    const states: string[] = [];
    c.on('state', (s) => states.push(s));
    await c.connect();
    const got: Message[] = [];
    const other: Message[] = [];
    const sub = c.subscribe('feed.a', (m) => got.push(m));
    const untouched = c.subscribe('feed.b', (m) => other.push(m));
    await sub.ready();
    await untouched.ready();
    const events: SubscribedEvent[] = [];
    sub.on('subscribed', (e) => events.push(e));
    await b.broker.publish('feed.a', 1);
    await until(() => got.length === 1, 'first message');
    b.gap(['feed.a']);
    // Published while the client resubscribes: recovered from history, not lost.
    await b.broker.publish('feed.a', 2);
    await until(() => events.length === 1, 'resubscribed');
    expect(events[0]).toMatchObject({ resubscribed: true, wasRecovering: true, recovered: true });
    await b.broker.publish('feed.a', 3);
    await b.broker.publish('feed.b', 'b');
    await until(() => got.length === 3 && other.length === 1, 'messages after the gap');
    expect(got.map((m) => m.data)).toEqual([1, 2, 3]);
    expect(states).toEqual(['connecting', 'connected']); // never disconnected
    expect(b.broker.stats()).toMatchObject({ gapUnsubscribes: 1, connections: 1 });
  });

  it('socket.io: the herald:unsub event names the topic and the reason; the socket stays', async () => {
    const b = await broker();
    const sio = await connectSocketIo(b.port);
    const unsubs: unknown[] = [];
    sio.socket.on('herald:unsub', (m) => unsubs.push(m));
    await sio.socket.emitWithAck('subscribe', 'feed.a');
    b.gap(['feed.a']);
    await until(() => unsubs.length === 1, 'herald:unsub');
    expect(unsubs[0]).toEqual({ topic: 'feed.a', reason: 'gap' });
    expect(sio.socket.connected).toBe(true);
    expect(await sio.socket.emitWithAck('subscribe', 'feed.a', { since: { offset: 0, epoch: (await b.broker.position('feed.a'))!.epoch } }))
      .toMatchObject({ ok: true, recovered: true });
  });

  it('SSE: the stream ends and EventSource resumes every topic by Last-Event-ID, missing nothing', async () => {
    const b = await broker();
    const es: EventSourceLike = new EventSource(`http://127.0.0.1:${b.port}/events?topic=feed.a&topic=feed.b`);
    closers.push(() => es.close());
    const data: unknown[] = [];
    let readies = 0;
    es.onmessage = (e) => data.push(JSON.parse(e.data).data);
    es.addEventListener('herald-ready', () => { readies++; });
    await until(() => readies === 1, 'first herald-ready');
    await b.broker.publish('feed.a', 'a1');
    await b.broker.publish('feed.b', 'b1');
    await until(() => data.length === 2, 'two messages');
    b.gap(['feed.a']);
    await b.broker.publish('feed.b', 'b2');
    await b.broker.publish('feed.a', 'a2');
    await until(() => readies === 2, 'the resumed stream');
    await until(() => data.length === 4, 'the missed ones, replayed');
    expect(data).toEqual(['a1', 'b1', 'b2', 'a2']);
  });
});
