/**
 * NATS adapter specifics beyond the shared suite: what lands in the JetStream stream, epochs when
 * the stream is recreated, recovery from the position of a topic that had nothing yet. (What a
 * publish does while NATS is unreachable: nats-outbox.test.ts.)
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { natsAdapter, type NatsAdapter, type NatsAdapterOptions } from '../../adapters/nats/index.js';
import { natsServerBinary, startNatsServer, type NatsCluster, type NatsServer } from '../helpers/nats-server.js';
import { recordingNode } from './conformance.js';

let nats: NatsCluster & { server: NatsServer; url: string };
let nc: NatsConnection;
beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const started: NatsAdapter[] = [];
afterEach(async () => { await Promise.allSettled(started.splice(0).map((a) => a.close())); });

let seq = 0;
async function adapter(prefix: string, history: Parameters<typeof recordingNode>[0] = {}, extra: NatsAdapterOptions = {}) {
  const a = natsAdapter({ servers: nats.url, prefix, storage: 'memory', heartbeatMs: 200, reconnectTimeWaitMs: 200, ...extra });
  const node = recordingNode(history);
  await a.start(node);
  started.push(a);
  return { a, node };
}

describe('nats adapter: JetStream history', () => {
  it('stores only topics that keep history; others never reach the stream', async () => {
    const prefix = `hs${process.pid}x${++seq}`;
    const { a } = await adapter(prefix, { topics: ['kept.>'] });
    expect(await a.publish('kept.one', 1)).toMatchObject({ offset: 1 });
    expect(await a.publish('loose.one', 2)).toBeUndefined();
    expect(await a.publish('kept.two', 3)).toMatchObject({ offset: 2 });
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`${prefix}_history`, { subjects_filter: '>' });
    expect(info.config.subjects).toEqual([`${prefix}.h.>`]);
    expect(info.state.messages).toBe(2);
    expect(Object.keys(info.state.subjects ?? {}).sort()).toEqual([`${prefix}.h.kept.one`, `${prefix}.h.kept.two`]);
  });

  it('a recreated stream has a new epoch: old positions answer recovered:false', async () => {
    const prefix = `hs${process.pid}x${++seq}`;
    const { a } = await adapter(prefix);
    const before = await a.publish('doc.1', 'v1');
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(`${prefix}_history`);
    // The next publish finds no stream, recreates it and learns its epoch.
    const after = await a.publish('doc.1', 'v2');
    expect(after).toBeDefined();
    expect(after!.epoch).not.toBe(before!.epoch);
    const result = await a.history('doc.1', { since: before! });
    expect(result.recovered).toBe(false);
    expect(result.position).toEqual(after);
    expect((await a.history('doc.1', {})).publications.map((p) => p.data)).toEqual(['v2']);
  });

  it('recovers exactly from the position of a topic that had no publication yet', async () => {
    const prefix = `hs${process.pid}x${++seq}`;
    const { a, node } = await adapter(prefix);
    const { a: b } = await adapter(prefix);
    await a.publish('other.topic', 'noise');
    const empty = await b.history('fresh.topic', { limit: 0 });
    expect(empty.position.offset).toBe(1);
    for (let i = 0; i < 3; i++) { await a.publish('fresh.topic', i); await a.publish('other.topic', i); }
    const result = await b.history('fresh.topic', { since: empty.position });
    expect(result.recovered).toBe(true);
    expect(result.publications.map((p) => p.data)).toEqual([0, 1, 2]);
    expect(result.publications.map((p) => p.origin)).toEqual([node.id, node.id, node.id]);
  });

  it('is pessimistic, never wrong, once the per-topic window dropped messages after the position', async () => {
    const prefix = `hs${process.pid}x${++seq}`;
    const { a } = await adapter(prefix, { size: 3 });
    const empty = await a.history('small.t', { limit: 0 });
    for (let i = 0; i < 5; i++) await a.publish('small.t', i);
    expect((await a.history('small.t', { since: empty.position })).recovered).toBe(false);
  });
});

describe('nats test helper', () => {
  it('fails naming the install command when nats-server is not on PATH', () => {
    expect(() => natsServerBinary('/nonexistent', [])).toThrow(/apt-get install -y nats-server/);
    expect(natsServerBinary()).toMatch(/nats-server$/);
  });
});
