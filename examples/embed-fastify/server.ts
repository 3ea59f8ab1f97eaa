/**
 * Herald inside a Fastify app: Fastify keeps its routes, Herald shares its HTTP server for the
 * WebSocket and SSE clients, and a Fastify route publishes.
 * Run: npm run example:embed-fastify   (then POST /orders and watch orders.created)
 */
import Fastify from 'fastify';
import type { AddressInfo } from 'node:net';
import { createBroker } from 'herald';
import { sse } from 'herald/transports/sse';
import { ws } from 'herald/transports/ws';

const app = Fastify();
app.get('/', async () => ({ app: 'fastify', herald: ['/ws', '/events'] }));

// Herald takes /ws and /events on Fastify's own server; every other path stays Fastify's.
const broker = await createBroker({ server: app.server, transports: [ws(), sse()], logger: false });

let next = 1;
app.post<{ Body: { item?: string } }>('/orders', async (req, reply) => {
  const order = { id: next++, item: req.body?.item ?? 'unknown' };
  const position = await broker.publish('orders.created', order);
  reply.code(201);
  return { ok: true, order, ...position };
});

// Stop Herald with the app: clients get 1001 and reconnect elsewhere.
app.addHook('onClose', async () => {
  await broker.close();
});

await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' });
const { port } = app.server.address() as AddressInfo;
console.log(`listening: Fastify and Herald on http://127.0.0.1:${port} (ws://127.0.0.1:${port}/ws, SSE /events)`);

const stop = () => void app.close();
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
