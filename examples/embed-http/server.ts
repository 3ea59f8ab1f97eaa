/**
 * Herald inside a plain node:http server: the app keeps its own routes, Herald takes /ws.
 * Run: npm run example:embed-http   (then open ws://127.0.0.1:3000/ws)
 */
import { createServer } from 'node:http';
import { createBroker } from 'herald';
import { ws } from 'herald/transports/ws';

const server = createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(`my app answered ${req.url}\n`);
});

const broker = await createBroker({ server, transports: [ws()] });
const port = Number(process.env.PORT ?? 3000);
server.listen(port, '127.0.0.1', () => {
  const { port: actual } = server.address() as import('node:net').AddressInfo;
  console.log(`listening: app and Herald on http://127.0.0.1:${actual} (ws://127.0.0.1:${actual}/ws)`);
});

// Application code publishes too: a clock on `time.tick` every second.
const clock = setInterval(() => void broker.publish('time.tick', { now: new Date().toISOString() }), 1000);

const stop = async () => {
  clearInterval(clock);
  await broker.close();
  server.close();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
