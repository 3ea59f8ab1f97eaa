import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { msgpackCodec } from '../../../core/codec.js';
import { sleep, startBroker } from '../../helpers/broker.js';
import { TestClient } from '../../helpers/ws-client.js';

describe('ws transport', () => {
  it('negotiates subprotocols: JSON by default, msgpack when offered, none for unknown offers', async () => {
    const { url } = await startBroker();
    const plain = await TestClient.connect(url);
    expect(plain.ws.protocol).toBe('');
    const json = await TestClient.connect(url, { protocol: 'json' });
    expect(json.ws.protocol).toBe('herald.v1.json');
    const mp = await TestClient.connect(url, { protocol: 'msgpack' });
    expect(mp.ws.protocol).toBe('herald.v1.msgpack');
    expect(await mp.request('ping')).toEqual({ id: 1, ok: true });
  });

  it('a JSON publisher and a msgpack subscriber see the same data, and back', async () => {
    const { client } = await startBroker();
    const j = await client('json');
    const m = await client('msgpack');
    await j.request('sub', { topic: 'mix' });
    await m.request('sub', { topic: 'mix' });
    const data = { text: 'héllo ✓', n: 1.5, list: [1, null, true], nested: { a: 'b' } };
    await j.request('pub', { topic: 'mix', data });
    await m.request('pub', { topic: 'mix', data: 'from msgpack' });
    const [mj1, mj2] = await j.waitForMessages(2);
    const [mm1, mm2] = await m.waitForMessages(2);
    expect(mm1).toEqual(mj1);
    expect(mm2).toEqual(mj2);
    expect(mm1!.data).toEqual(data);
    expect(mj2!.data).toBe('from msgpack');
  });

  it('pushes frames across the 7/16/64-bit length boundaries intact', async () => {
    const { client } = await startBroker({ limits: { maxPayload: 256 * 1024 } });
    const c = await client();
    await c.request('sub', { topic: 'len' });
    const overhead = JSON.stringify({ op: 'msg', topic: 'len', data: '', offset: 1, epoch: 'xxxxxxxx-1' }).length;
    const sizes = [1, 125 - overhead, 126 - overhead, 65535 - overhead, 65536 - overhead, 200_000];
    for (const size of sizes) await c.request('pub', { topic: 'len', data: 'x'.repeat(size) });
    const got = await c.waitForMessages(sizes.length);
    expect(got.map((m) => m.data.length)).toEqual(sizes);
  });

  describe('bad input: typed errors, no routing, neighbours unharmed', () => {
    const cases: [string, (c: TestClient) => void, string][] = [
      ['non-JSON text', (c) => c.sendRaw('{not json'), 'bad_request'],
      ['binary garbage on JSON', (c) => c.sendRaw(Buffer.from([0xff, 0xfe, 0x00])), 'bad_request'],
      ['unknown op', (c) => c.send({ op: 'explode' }), 'bad_request'],
      ['missing fields', (c) => c.send({ op: 'pub' }), 'bad_request'],
      ['wrong types', (c) => c.send({ op: 'sub', topic: ['a'] }), 'invalid_topic'],
      ['id not a positive integer', (c) => c.send({ op: 'ping', id: -3 }), 'bad_request'],
      ['bad topic', (c) => c.send({ op: 'pub', topic: 'a..b', data: 1 }), 'invalid_topic'],
      ['wildcard publication', (c) => c.send({ op: 'pub', topic: 'a.*', data: 1 }), 'invalid_topic'],
    ];
    it.each(cases)('%s', async (_name, act, code) => {
      const { client } = await startBroker();
      const healthy = await client();
      await healthy.request('sub', { topic: '>' });
      const bad = await client();
      const error = bad.next((m) => m.op === 'error');
      act(bad);
      expect((await error).error.code).toBe(code);
      await healthy.request('pub', { topic: 'still.fine', data: 1 });
      await sleep(20);
      expect(healthy.messages().map((m) => m.topic)).toEqual(['still.fine']);
      expect(await bad.request('ping')).toMatchObject({ ok: true }); // one error does not close
    });

    it('non-msgpack bytes on the msgpack subprotocol', async () => {
      const { client } = await startBroker();
      const c = await client('msgpack');
      const error = c.next((m) => m.op === 'error');
      c.sendRaw(Buffer.from([0x82, 0xa1]));
      expect((await error).error.code).toBe('bad_request');
      c.sendRaw(msgpackCodec.encode({ op: 'pub', id: 5, topic: 'x..', data: 1 }) as Buffer);
      expect((await c.next((m) => m.id === 5)).error.code).toBe('invalid_topic');
    });

    it('closes with 4400 after 10 protocol errors', async () => {
      const { client } = await startBroker();
      const healthy = await client();
      await healthy.request('sub', { topic: 'ok' });
      const bad = await client();
      for (let i = 0; i < 12; i++) bad.sendRaw('nope');
      expect(await bad.waitClose()).toBe(4400);
      expect(bad.received.filter((m) => m.op === 'error')).toHaveLength(10);
      await healthy.request('pub', { topic: 'ok', data: 'after' });
      expect((await healthy.waitForMessages(1))[0]!.data).toBe('after');
    });

    it('closes with 1009 for a frame over maxPayload, routing nothing', async () => {
      const { client } = await startBroker({ limits: { maxPayload: 1024 } });
      const healthy = await client();
      await healthy.request('sub', { topic: 'big' });
      const bad = await client();
      bad.send({ op: 'pub', topic: 'big', data: 'x'.repeat(2000) });
      expect(await bad.waitClose()).toBe(1009);
      await healthy.request('pub', { topic: 'big', data: 'small' });
      await sleep(20);
      expect(healthy.messages().map((m) => m.data)).toEqual(['small']);
    });
  });

  it('closes a client that stops reading with 4008 while the others keep receiving', async () => {
    // The cap sits far above one turn's worth (10 KiB) so only the stalled reader can reach it,
    // even when a loaded machine lets the healthy reader fall a few turns behind.
    const { broker, client } = await startBroker({ limits: { outboundBytes: 512 * 1024 } });
    const slow = await client();
    const fast = await client();
    await slow.request('sub', { topic: 'firehose' });
    await fast.request('sub', { topic: 'firehose' });
    // Stop reading: the kernel buffers fill, then the server's outbound queue passes the cap.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const payload = 'y'.repeat(1024);
    const count = 16_000; // ~16 MiB: more than loopback socket buffers plus the cap hold
    for (let i = 0; i < count; i++) {
      await broker.publish('firehose', { i, payload });
      if (i % 10 === 0) await new Promise((r) => setImmediate(r)); // ~10 KiB per turn
    }
    const got = await fast.waitForMessages(count, undefined, 20_000);
    expect(got.map((m) => m.data.i)).toEqual([...Array(count).keys()]);
    expect(broker.stats().slowConsumerCloses).toBe(1);
    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await slow.waitClose(5000)).toBe(4008);
  }, 40_000);

  it('pings idle connections and drops the ones that never answer', async () => {
    const { broker, url } = await startBroker({ limits: { pingInterval: 100 } });
    const answering = await TestClient.connect(url);
    const deaf = new WebSocket(url, { autoPong: false });
    await new Promise((r) => deaf.once('open', r));
    const closed = new Promise<number>((r) => deaf.once('close', (code) => r(code)));
    expect(await closed).toBe(1006); // terminated, no close frame
    await sleep(250);
    expect(answering.closeCode).toBeUndefined();
    expect(broker.stats().connections).toBe(1);
  });
});
