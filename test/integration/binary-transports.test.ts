/** The standalone binary serves ws, socket.io, SSE and the HTTP API on one port by default. */
import { describe, expect, it } from 'vitest';
import { startBinary } from '../helpers/binary.js';
import { closeSocketIoClients, connectSocketIo } from '../helpers/socketio-client.js';
import { SseReader } from '../helpers/sse-reader.js';
import { TestClient } from '../helpers/ws-client.js';
import { until } from '../helpers/until.js';

describe('herald binary transports', () => {
  it('serves every transport and the HTTP API on its one port', async () => {
    const { port } = await startBinary(['--port', '0', '--host', '127.0.0.1']);
    try {
      const wsClient = await TestClient.connect(`ws://127.0.0.1:${port}/ws`);
      await wsClient.request('sub', { topic: 'bin.all' });
      const sio = await connectSocketIo(port);
      await sio.socket.emitWithAck('subscribe', 'bin.all');
      const stream = await SseReader.open(`http://127.0.0.1:${port}/events?topic=bin.all`);
      await stream.waitFor(() => stream.named('herald-ready').length === 1, 'herald-ready');
      const res = await fetch(`http://127.0.0.1:${port}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"topic":"bin.all","data":"hello"}' });
      expect(await res.json()).toMatchObject({ ok: true, offset: 1 });
      await wsClient.waitForMessages(1);
      await until(() => sio.messages.length === 1, 'socket.io message');
      await stream.waitFor(() => stream.messages().length === 1, 'SSE message');
      expect([wsClient.messages()[0]!.data, sio.messages[0]!.data, stream.messages()[0]!.data]).toEqual(['hello', 'hello', 'hello']);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      stream.close();
    } finally {
      closeSocketIoClients();
    }
  }, 30_000);
});
