/**
 * A real browser (headless Chromium) loads a page served by the broker that follows one topic over
 * the native WebSocket, the native EventSource and socket.io's own client bundle, publishes over all
 * three ways a browser can, and sees every publication on all three.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { httpApi } from '../../transports/http/index.js';
import { socketio } from '../../transports/socketio/index.js';
import { sse } from '../../transports/sse/index.js';
import { ws } from '../../transports/ws/index.js';
import { startBroker } from '../helpers/broker.js';
import { browserTest, launchChromium, pageTransport } from '../helpers/chromium.js';

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>herald</title>
<script src="/socket.io/socket.io.js"></script></head><body><script>
const TOPIC = 'browser.t';
window.seen = { ws: [], sse: [], sio: [] };
window.ready = { ws: false, sse: false, sio: false };
const socket = new WebSocket('ws://' + location.host + '/ws', 'herald.v1.json');
socket.onopen = () => socket.send(JSON.stringify({ op: 'sub', id: 1, topic: TOPIC }));
socket.onmessage = (e) => {
  const m = JSON.parse(e.data);
  if (m.op === 'msg') seen.ws.push(m);
  if (m.id === 1) ready.ws = m.ok;
};
const es = new EventSource('/events?topic=' + TOPIC);
es.onmessage = (e) => seen.sse.push(JSON.parse(e.data));
es.addEventListener('herald-ready', () => { ready.sse = true; });
const sio = io('/herald');
sio.on('message', (m) => seen.sio.push(m));
sio.on('connect', () => sio.emit('subscribe', TOPIC, (ack) => { ready.sio = ack.ok; }));
window.publishAll = async (n) => {
  socket.send(JSON.stringify({ op: 'pub', topic: TOPIC, data: { from: 'ws', n } }));
  await sio.emitWithAck('publish', TOPIC, { from: 'socket.io', n });
  await fetch('/api/publish', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic: TOPIC, data: { from: 'http', n } }) });
};
</script></body></html>`;

const page = pageTransport('/', PAGE);

let close: (() => Promise<void>) | undefined;
afterAll(async () => { await close?.(); });

describe('browser', () => {
  browserTest('native WebSocket, EventSource and the socket.io bundle see every publication', async () => {
    const b = await startBroker({ transports: [ws(), socketio(), sse(), httpApi(), page] });
    const chromium = await launchChromium();
    close = chromium.close;
    const tab = await chromium.browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(String(e)));
    await tab.goto(`http://127.0.0.1:${b.port}/`);
    await tab.waitForFunction(() => (window as any).ready.ws && (window as any).ready.sse && (window as any).ready.sio, undefined, { timeout: 15_000 });

    for (let n = 1; n <= 3; n++) {
      await b.broker.publish('browser.t', { from: 'server', n });
      await tab.evaluate((k) => (window as any).publishAll(k), n);
    }
    const total = 12;
    await tab.waitForFunction((t) => {
      const s = (window as any).seen;
      return s.ws.length >= t && s.sse.length >= t && s.sio.length >= t;
    }, total, { timeout: 15_000 });
    const seen = await tab.evaluate(() => (window as any).seen) as Record<'ws' | 'sse' | 'sio', Record<string, any>[]>;
    const plain = (list: Record<string, any>[]) => list.map(({ op: _op, ...m }) => m);
    expect(seen.ws).toHaveLength(total);
    expect(plain(seen.sse)).toEqual(plain(seen.ws));
    expect(seen.sio).toEqual(plain(seen.ws));
    expect(seen.ws.map((m) => m.offset)).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(new Set(seen.ws.map((m) => m.data.from))).toEqual(new Set(['server', 'ws', 'socket.io', 'http']));
    expect(errors).toEqual([]);
  }, 60_000);
});
