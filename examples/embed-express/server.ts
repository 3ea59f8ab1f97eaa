/**
 * Herald next to an Express app: Express serves the pages and a REST route that publishes,
 * Herald serves the WebSocket clients on the same port.
 * Run: npm run example:embed-express   (open http://127.0.0.1:3000/, then POST /notify/42)
 */
import express from 'express';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createBroker } from 'herald';
import { ws } from 'herald/transports/ws';

const app = express();
app.use(express.json());
// Express serves the page; the page's WebSocket goes to Herald on the same port.
app.get('/', (_req, res) => {
  res.sendFile(fileURLToPath(new URL('./index.html', import.meta.url)));
});

const server = createServer(app);
const broker = await createBroker({ server, transports: [ws()] });

// The back end pushes a notification to one user's topic.
app.post('/notify/:user', async (req, res) => {
  try {
    const result = await broker.publish(`user.${req.params.user}.notifications`, req.body ?? null);
    res.json({ ok: true, ...result });
  } catch (err) {
    res.status(400).json({ ok: false, error: (err as Error).message });
  }
});

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`listening: Express and Herald on http://127.0.0.1:${port}`);
});

const stop = async () => {
  await broker.close();
  server.close();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
