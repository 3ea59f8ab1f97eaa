/** uWebSockets.js (C++ server, JS API): subscribers in its topic tree, `app.publish` per message. */
import { createRequire } from 'node:module';
import type { PeerFactory } from './types.js';
import { msgJson, parsePeerCommand } from './types.js';

// A CommonJS native addon without an ESM entry; its typings live outside the package's types path.
const uWS = createRequire(import.meta.url)('@trufflesuite/uws-js-unofficial') as {
  App(): UwsApp;
  DISABLED: number;
  us_socket_local_port(s: unknown): number;
  us_listen_socket_close(s: unknown): void;
};
interface UwsSocket {
  subscribe(topic: string): boolean;
  send(message: string, isBinary?: boolean): number;
}
interface UwsApp {
  ws(pattern: string, behavior: Record<string, unknown>): UwsApp;
  listen(host: string, port: number, cb: (listenSocket: unknown) => void): UwsApp;
  publish(topic: string, message: string, isBinary?: boolean): boolean;
}

export const start: PeerFactory = async ({ host }) => {
  const epoch = 'uws';
  let offset = 0;
  const app = uWS.App();
  const publish = (topic: string, data: string): void => {
    app.publish(topic, msgJson(topic, data, ++offset, epoch), false);
  };
  app.ws('/ws', {
    compression: uWS.DISABLED,
    maxPayloadLength: 64 * 1024,
    maxBackpressure: 1024 * 1024,
    idleTimeout: 0,
    message: (ws: UwsSocket, message: ArrayBuffer) => {
      const cmd = parsePeerCommand(Buffer.from(message).toString());
      if (cmd?.op === 'sub') {
        ws.subscribe(cmd.topic);
        if (cmd.id !== undefined) ws.send(JSON.stringify({ id: cmd.id, ok: true }), false);
      } else if (cmd?.op === 'pub') publish(cmd.topic, cmd.data);
    },
  });
  const listenSocket = await new Promise<unknown>((resolve, reject) =>
    app.listen(host, 0, (s) => (s ? resolve(s) : reject(new Error('uWS could not listen')))));
  return {
    port: uWS.us_socket_local_port(listenSocket),
    publish,
    close: async () => uWS.us_listen_socket_close(listenSocket),
  };
};
