/** /client.js: the browser bundle built from client/ and served by the broker. */
import { expect, it } from 'vitest';
import { clientBundle } from '../../../ops/client-bundle/index.js';
import { ws } from '../../../transports/ws/index.js';
import { startBroker } from '../../helpers/broker.js';

it('serves an ESM bundle without Node built-ins or ws, with an ETag', async () => {
  const { port } = await startBroker({ transports: [ws(), clientBundle()] });
  const res = await fetch(`http://127.0.0.1:${port}/client.js`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  expect(res.headers.get('access-control-allow-origin')).toBe('*');
  const code = await res.text();
  expect(code).toMatch(/export\s*\{[^}]*HeraldClient/);
  expect(code).not.toMatch(/from\s*["']node:|require\(["'](ws|node:)|WebSocketServer/);
  const etag = res.headers.get('etag')!;
  expect(etag).toMatch(/^"[\w-]+"$/);
  const again = await fetch(`http://127.0.0.1:${port}/client.js`, { headers: { 'if-none-match': etag } });
  expect(again.status).toBe(304);
  const post = await fetch(`http://127.0.0.1:${port}/client.js`, { method: 'POST' });
  expect(post.status).toBe(405);
});
