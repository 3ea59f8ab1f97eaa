/**
 * SSE injection (issue 5): publication data full of CR, LF, CRLF, `data:`, `id:`, `event:`,
 * `retry:` and blank lines, from every publishing path (HTTP API, ws, the application), read back
 * with the `eventsource` package. Figures: every payload parses back identical, exactly one event
 * per publication, no forged event type, id or retry.
 */
import fc from 'fast-check';
import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { sleep, startBroker } from '../helpers/broker.js';
import { httpApi } from '../../transports/http/index.js';
import { sse } from '../../transports/sse/index.js';
import { ws } from '../../transports/ws/index.js';

const PAYLOADS = 300;
const piece = fc.constantFrom('\r', '\n', '\r\n', '\n\n', '\r\r', 'data: ', 'data:evil', 'id: 999', 'id:', 'event: herald-close', 'event:message', 'retry: 1',
  ':comment', ' ', 'a', '{"op":"msg"}', '\u2028', '\u2029', '\u0000', '\u0085', 'é', '😀', '\\', '"', '\ufeff');
const text = fc.array(piece, { minLength: 1, maxLength: 12 }).map((p) => p.join(''));
const payload = fc.oneof(text, fc.record({ text, nested: fc.array(text, { maxLength: 3 }) }), fc.array(text, { maxLength: 3 }));

describe('SSE injection', () => {
  it(`${PAYLOADS} hostile payloads over HTTP API, ws and publish(): each parses back identical, one event each, no forged fields`, async () => {
    const { broker, port, client } = await startBroker({ transports: [ws(), sse(), httpApi()] });
    const values = fc.sample(payload, { numRuns: PAYLOADS, seed: 7 });
    const received: { data: unknown; type: string; lastEventId: string }[] = [];
    const named: string[] = [];
    const es = new EventSource(`http://127.0.0.1:${port}/events?topic=inject`);
    es.onmessage = (e) => received.push({ data: JSON.parse(e.data).data, type: e.type, lastEventId: e.lastEventId });
    for (const forged of ['herald-close', 'evil', 'message ']) es.addEventListener(forged, () => named.push(forged));
    await new Promise<void>((resolve, reject) => { es.onopen = () => resolve(); es.onerror = reject; });
    await sleep(50);
    const publisher = await client();
    for (let i = 0; i < values.length; i++) {
      const data = { i, value: values[i] };
      if (i % 3 === 0) {
        const res = await fetch(`http://127.0.0.1:${port}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ topic: 'inject', data }) });
        expect(res.status).toBe(200);
      } else if (i % 3 === 1) {
        expect(await publisher.request('pub', { topic: 'inject', data })).toMatchObject({ ok: true });
      } else {
        await broker.publish('inject', data);
      }
    }
    for (let t = 0; t < 500 && received.length < values.length; t++) await sleep(10);
    await sleep(50);
    es.close();
    const mismatched = received.filter((r, k) => JSON.stringify(r.data) !== JSON.stringify({ i: k, value: values[k] })).length;
    const ids = received.map((r) => r.lastEventId);
    console.info(`[security] SSE injection: ${values.length} hostile payloads, ${received.length} events received, ${mismatched} mismatched, ${named.length} forged named events`);
    expect(received).toHaveLength(values.length);
    expect(mismatched).toBe(0);
    expect(received.every((r) => r.type === 'message')).toBe(true);
    expect(named).toEqual([]);
    // Every id is one the server issued (base64url), none spliced in from a payload.
    expect(ids.every((id) => /^[A-Za-z0-9_-]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  }, 30_000);
});
