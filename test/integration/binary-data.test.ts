/**
 * What a msgpack publisher can send but JSON cannot, end to end: bytes and 64-bit integers reach
 * msgpack subscribers as they were sent, and JSON subscribers (ws, SSE) as base64 and decimal
 * strings (docs/protocol.md, "Binary data and JSON").
 */
import { describe, expect, it } from 'vitest';
import { sse } from '../../transports/sse/index.js';
import { ws } from '../../transports/ws/index.js';
import { startBroker } from '../helpers/broker.js';
import { SseReader } from '../helpers/sse-reader.js';

describe('binary data across codecs', () => {
  it('a msgpack publisher\'s bytes and bigints reach JSON subscribers as base64 and exact decimal strings', async () => {
    const b = await startBroker({ transports: [ws(), sse()] });
    const big = 2n ** 60n + 1n; // beyond 2^53: a JS number cannot hold it
    const jsonSub = await b.client('json');
    await jsonSub.request('sub', { topic: 'bin' });
    const packSub = await b.client('msgpack');
    await packSub.request('sub', { topic: 'bin' });
    const stream = await SseReader.open(`http://127.0.0.1:${b.port}/events?topic=bin`);
    await stream.waitFor(() => stream.named('herald-ready').length === 1, 'herald-ready');

    const publisher = await b.client('msgpack');
    const reply = await publisher.request('pub', { topic: 'bin', data: { bytes: Buffer.from([0, 1, 2, 255]), big, negative: -big, small: 7 } });
    expect(reply.ok).toBe(true);

    const asJson = { bytes: 'AAEC/w==', big: big.toString(), negative: (-big).toString(), small: 7 };
    expect((await jsonSub.waitForMessages(1))[0]!.data).toEqual(asJson);
    await stream.waitFor(() => stream.messages().length === 1, 'the SSE message');
    expect(stream.messages()[0]!.data).toEqual(asJson);
    const packed = (await packSub.waitForMessages(1))[0]!.data as { bytes: Uint8Array; big: bigint; negative: bigint; small: number };
    expect(Buffer.from(packed.bytes)).toEqual(Buffer.from([0, 1, 2, 255]));
    expect([packed.big, packed.negative, packed.small]).toEqual([big, -big, 7]);
    // History answers the same, per codec.
    expect((await jsonSub.request('history', { topic: 'bin' })).messages[0].data).toEqual(asJson);
    stream.close();
  });
});
