/**
 * Per-user notifications: the application's back end publishes to `user.<id>.notifications`; each
 * browser user holds a JWT that grants exactly that one topic, so nobody reads anyone else's.
 * Run: npm run example:notifications   (then open http://127.0.0.1:3000/ as two users)
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { createBroker, jwtAuth } from 'herald';
import { clientBundle } from 'herald/client/serve';
import { sse } from 'herald/transports/sse';
import { ws } from 'herald/transports/ws';

// Shared by the app (signs) and Herald (verifies); at least 32 bytes.
const secret = process.env.JWT_SECRET ?? randomBytes(32).toString('base64url');
const page = readFileSync(new URL('./index.html', import.meta.url), 'utf8');

/** The app's token: sub = the user, one subscribe grant (its own topic), no publish grant. */
function tokenFor(user: string): Promise<string> {
  return new SignJWT({ subscribe: [`user.${user}.notifications`] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(user)
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}

async function body(req: IncomingMessage): Promise<any> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text ? JSON.parse(text) : {};
}

function json(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

const USER = /^[a-z0-9_-]{1,32}$/;

// The application: a page, a (demo) login that hands out tokens, and the back end's notify route.
const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    } else if (req.method === 'POST' && url.pathname === '/login') {
      // A real app checks a password or a session cookie here.
      const { user } = await body(req);
      if (typeof user !== 'string' || !USER.test(user)) return json(res, 400, { ok: false, error: 'user must be 1..32 of a-z0-9_-' });
      json(res, 200, { ok: true, user, token: await tokenFor(user) });
    } else if (req.method === 'POST' && url.pathname.startsWith('/notify/')) {
      // The back end publishes; in production this route would be internal, not public.
      const user = url.pathname.slice('/notify/'.length);
      if (!USER.test(user)) return json(res, 400, { ok: false, error: 'bad user' });
      const { text } = await body(req);
      const result = await broker.publish(`user.${user}.notifications`, { text: String(text), at: new Date().toISOString() });
      json(res, 200, { ok: true, ...result });
    } else if (req.method === 'POST' && url.pathname.startsWith('/logout/')) {
      // An admin action: log a user out everywhere (every connection, every node), for good (4003:
      // the Herald client does not reconnect). Internal in production, like /notify.
      const user = url.pathname.slice('/logout/'.length);
      if (!USER.test(user)) return json(res, 400, { ok: false, error: 'bad user' });
      const result = await broker.disconnect({ user }, { code: 4003, reason: 'logged out everywhere' });
      json(res, 200, { ok: true, ...result });
    } else {
      json(res, 404, { ok: false, error: 'not found' });
    }
  } catch (err) {
    json(res, 500, { ok: false, error: (err as Error).message });
  }
});

// Herald shares the app's server: /ws, /events and /client.js are Herald's, the rest the app's.
const broker = await createBroker({
  server,
  transports: [ws(), sse(), clientBundle()],
  hooks: jwtAuth({ secret }),
  logger: false,
});

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(`listening: notifications app and Herald on http://127.0.0.1:${port}/`);
});

const stop = async () => {
  await broker.close();
  server.close();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
