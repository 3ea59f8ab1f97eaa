/**
 * Compression bombs with permessage-deflate on (issue 5): small frames that inflate far past
 * maxPayload. Figures: every bomb closed with 1009, nothing routed, and memory growth bounded well
 * below what inflating them would take (20 bombs x 50 MiB = 1000 MiB).
 */
import { constants, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { sleep, startBroker } from '../helpers/broker.js';
import { ws } from '../../transports/ws/index.js';
import { encodeFrame, rawConnect } from './raw-socket.js';

const BOMBS = 20;
const INFLATED = 50 * 1024 * 1024;
const MiB = 1024 * 1024;

/** A permessage-deflate payload (RFC 7692 §7.2.1: sync flush, trailing 00 00 ff ff removed). */
function deflated(data: Buffer): Buffer {
  const out = deflateRawSync(data, { finishFlush: constants.Z_SYNC_FLUSH, level: 9 });
  return out.subarray(0, out.length - 4);
}

describe('compression bombs', () => {
  it(`${BOMBS} frames of ~50 KiB that inflate to 50 MiB each: closed with 1009, memory bounded, nothing routed`, async () => {
    const { broker, port, client } = await startBroker({
      transports: [ws({ perMessageDeflate: true })],
      limits: { maxPayload: 64 * 1024, connectionRate: 10_000, connectionBurst: 10_000 },
    });
    const watcher = await client();
    await watcher.request('sub', { topic: '>' });
    const zeros = Buffer.alloc(INFLATED);
    // A valid pub command padded with 50 MiB of spaces (JSON whitespace): harmless if it were small.
    const bomb = deflated(Buffer.concat([Buffer.from('{"op":"pub","topic":"bomb","data":1}'), zeros.fill(0x20)]));
    const small = deflated(Buffer.from('{"op":"pub","topic":"fine","data":1}'));
    expect(bomb.length).toBeLessThan(64 * 1024); // the compressed frame itself passes maxPayload

    // Control: compression works for a normal message on the same kind of connection.
    const ok = await rawConnect(port, { headers: { 'sec-websocket-extensions': 'permessage-deflate' } });
    expect(ok.response.toLowerCase()).toContain('permessage-deflate');
    ok.client!.socket.write(encodeFrame({ opcode: 1, rsv: 4, payload: small }));
    await watcher.waitForMessages(1, 'fine');

    const before = process.memoryUsage();
    let peakRss = before.rss;
    const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 5);
    const codes = await Promise.all(Array.from({ length: BOMBS }, async () => {
      const { client: raw } = await rawConnect(port, { headers: { 'sec-websocket-extensions': 'permessage-deflate' } });
      raw!.socket.write(encodeFrame({ opcode: 1, rsv: 4, payload: bomb }));
      await Promise.race([raw!.closed, sleep(5000)]);
      raw!.socket.destroy();
      return raw!.closeCode();
    }));
    // A bomb split over fragments: the total, not each fragment, is held to maxPayload.
    const { client: frag } = await rawConnect(port, { headers: { 'sec-websocket-extensions': 'permessage-deflate' } });
    const stream = deflated(Buffer.alloc(4 * MiB, 0x20));
    const third = Math.ceil(stream.length / 3);
    frag!.socket.write(Buffer.concat([
      encodeFrame({ opcode: 1, rsv: 4, fin: false, payload: stream.subarray(0, third) }),
      encodeFrame({ opcode: 0, fin: false, payload: stream.subarray(third, 2 * third) }),
      encodeFrame({ opcode: 0, fin: true, payload: stream.subarray(2 * third) }),
    ]));
    await Promise.race([frag!.closed, sleep(5000)]);
    clearInterval(sampler);
    const growth = (peakRss - before.rss) / MiB;
    await sleep(50);
    const routed = watcher.messages().filter((m) => m.topic !== 'fine').length;
    console.info(`[security] compression bombs: ${BOMBS} x ${INFLATED / MiB} MiB inflated (${(bomb.length / 1024).toFixed(1)} KiB on the wire), close codes ${JSON.stringify(codes)}, fragmented bomb ${frag!.closeCode()}, peak RSS growth ${growth.toFixed(1)} MiB, routed ${routed}`);
    expect(codes).toEqual(Array(BOMBS).fill(1009));
    expect(frag!.closeCode()).toBe(1009);
    expect(routed).toBe(0);
    expect(broker.stats().publicationsIn).toBe(1); // the control message only
    expect(growth).toBeLessThan(100); // inflating the bombs would take 1000 MiB
  }, 60_000);
});
