/**
 * A complete third-party transport: protocol v1 as newline-delimited JSON over plain TCP.
 * It touches nothing in Herald's core: it only implements the Transport contract.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { CloseCodes, HeraldError, jsonCodec, type Connection, type Encoder, type Transport, type TransportHost } from 'herald/plugin';

export interface NdjsonOptions {
  port: number;
  host?: string;
}

// One line per message. JSON.stringify never emits a raw newline, so a line is always one message,
// and the bytes of a publication are shared by every NDJSON subscriber (key 'ndjson').
const encoder: Encoder = { key: 'ndjson', encode: (message) => `${jsonCodec.encode(message)}\n` };

export function ndjson(options: NdjsonOptions): Transport & { readonly port: number } {
  let server: Server | undefined;
  const sockets = new Set<Socket>();

  function accept(host: TransportHost, socket: Socket): void {
    sockets.add(socket);
    const connection: Connection = {
      write: (chunks) => void socket.write(chunks.join('')),
      // TCP has no close codes, so the last line says why (same codes as WebSocket close codes).
      close: (code, reason) => socket.end(`${JSON.stringify({ op: 'close', code, reason })}\n`),
      get bufferedAmount() { return socket.writableLength; },
    };
    const session = host.open(connection, {
      transport: 'ndjson', remoteAddress: socket.remoteAddress ?? '', headers: {}, query: new URLSearchParams(),
    }, encoder);
    const max = host.options.limits.maxPayload;
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      buffered += text;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.trim() === '') continue;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch {
          session.reject(new HeraldError('bad_request', 'line is not JSON'));
          continue;
        }
        session.handle(value);
      }
      if (buffered.length > max) session.close(CloseCodes.tooLarge, 'line too long');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      sockets.delete(socket);
      session.disconnected();
    });
  }

  return {
    name: 'ndjson',
    get port() {
      const address = server?.address();
      return typeof address === 'object' && address ? address.port : 0;
    },
    attach(host) {
      server = createServer((socket) => accept(host, socket));
      return new Promise<void>((resolve, reject) => {
        server!.once('error', reject).listen(options.port, options.host ?? '127.0.0.1', () => resolve());
      });
    },
    async close() {
      for (const s of sockets) s.destroySoon();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
}
