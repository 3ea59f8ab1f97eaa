/**
 * A small browser chat: rooms are topics (`chat.<room>`), members come from presence, and each
 * visitor picks the transport (WebSocket, socket.io or SSE + HTTP publish). Everyone in a room
 * sees the same messages whatever transport the others use.
 * Run: npm run example:chat   (then open http://127.0.0.1:3000/ in two browser windows)
 */
import { readFileSync } from 'node:fs';
import { createBroker, HeraldError, type Handshake, type Transport } from 'herald';
import { httpApi } from 'herald/transports/http';
import { socketio } from 'herald/transports/socketio';
import { sse } from 'herald/transports/sse';
import { ws } from 'herald/transports/ws';

const page = readFileSync(new URL('./index.html', import.meta.url), 'utf8');

/** Serves the chat page at `/` (a plugin that claims one path, like any transport). */
const chatPage: Transport = {
  name: 'chat-page',
  attach(host) {
    host.onRequest('/', (req, res) => {
      if (req.url !== '/' && !req.url?.startsWith('/?')) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    });
  },
  async close() {},
};

const NAME = /^[\p{L}\p{N}][\p{L}\p{N} _.-]{0,31}$/u;
const NAME_RULE = 'a name is 1 to 32 letters, digits, spaces, ".", "-" or "_", starting with a letter or digit';

/**
 * Demo-grade identity: the "token" is the display name the visitor typed. A real app verifies a
 * JWT here (see examples/notifications, or `jwtAuth` in docs/security.md).
 */
function authenticate(handshake: Handshake) {
  const name = handshake.token?.trim() ?? '';
  // A HeraldError('unauthorized', why) reaches the visitor as the reason, on every transport.
  if (!NAME.test(name)) throw new HeraldError('unauthorized', NAME_RULE);
  return { user: name };
}

const broker = await createBroker({
  port: Number(process.env.PORT ?? 3000),
  host: '127.0.0.1',
  transports: [ws(), socketio(), sse(), httpApi(), chatPage],
  hooks: {
    authenticate,
    // Visitors may only talk in rooms: chat.<room>, nothing else.
    authorize: (_principal, _action, topic) => /^chat\.[A-Za-z0-9_-]+$/.test(topic),
  },
  // Every subscriber of a room gets join/leave pushes; the last 50 messages are kept per room.
  presence: { topics: ['chat.*'], events: ['chat.*'] },
  history: { topics: ['chat.*'], size: 50 },
  logger: false,
});

const { port } = broker.address()!;
console.log(`listening: chat on http://127.0.0.1:${port}/`);

const stop = async () => {
  await broker.close();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
