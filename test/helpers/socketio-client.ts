/** A stock socket.io-client on Herald's namespace, with what tests look at collected. */
import { io, type Socket } from 'socket.io-client';

export interface SioClient {
  socket: Socket;
  /** `message` events, in order. */
  messages: Record<string, any>[];
  /** `herald:close` and `herald:error` payloads. */
  closes: Record<string, any>[];
  errors: Record<string, any>[];
  disconnectReason: Promise<string>;
  close(): void;
}

const open: Socket[] = [];

export async function connectSocketIo(port: number, options: { transports?: ('polling' | 'websocket')[]; token?: string; namespace?: string; reconnection?: boolean } = {}): Promise<SioClient> {
  const socket = io(`http://127.0.0.1:${port}${options.namespace ?? '/herald'}`, {
    transports: options.transports ?? ['websocket'],
    auth: options.token === undefined ? {} : { token: options.token },
    reconnection: options.reconnection ?? false,
    forceNew: true,
  });
  open.push(socket);
  const client: SioClient = {
    socket,
    messages: [],
    closes: [],
    errors: [],
    disconnectReason: new Promise((resolve) => socket.once('disconnect', (reason) => resolve(reason))),
    close: () => socket.close(),
  };
  socket.on('message', (m) => client.messages.push(m));
  socket.on('herald:close', (m) => client.closes.push(m));
  socket.on('herald:error', (m) => client.errors.push(m));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return client;
}

/** Closes every client opened by connectSocketIo (call in afterEach). */
export function closeSocketIoClients(): void {
  for (const s of open.splice(0)) s.close();
}

