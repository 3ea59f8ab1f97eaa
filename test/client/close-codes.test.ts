/** How the client answers the server's close codes: 4001 (token refresh or stop), 4400 (stop and report). */
import { afterEach, expect, it } from 'vitest';
import { HeraldClient, type DisconnectedEvent, type HeraldClientError } from '../../client/index.js';
import type { Principal } from '../../core/index.js';
import { sleep, startBroker } from '../helpers/broker.js';
import { until } from '../helpers/until.js';

const clients: HeraldClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

/** Tokens `t<n>` are valid for `lifetime` ms from their first use; anything else is refused. */
/** Tokens t1, t2...; each names `user-<token>`, or `user` for all (a refresh must name the same user). */
function tokenAuth(lifetime: number, user?: string) {
  const issued = new Map<string, number>();
  return {
    authenticate(handshake: { token?: string }): Principal | null {
      const token = handshake.token;
      if (token === undefined) return null; // wait for the auth op
      if (!/^t\d+$/.test(token)) throw new Error('bad token');
      if (!issued.has(token)) issued.set(token, Date.now());
      return { user: user ?? `user-${token}`, expiresAt: issued.get(token)! + lifetime };
    },
  };
}

it('on 4001 fetches a new token with getToken(), reconnects and recovers; stops when no new token comes', async () => {
  const { url, broker } = await startBroker({ hooks: tokenAuth(1000) });
  const tokens = ['t1', 't2', null];
  let asked = 0;
  const c = new HeraldClient({ url, minReconnectDelay: 20, maxReconnectDelay: 50, getToken: () => tokens[asked++] ?? null });
  clients.push(c);
  const users: (string | null | undefined)[] = [];
  c.on('connected', (e) => users.push(e.user));
  const closes: (number | undefined)[] = [];
  c.on('connecting', (e) => closes.push(e.code));
  const stopped = new Promise<DisconnectedEvent>((r) => c.once('disconnected', r));
  await c.connect();
  const got: number[] = [];
  const sub = c.subscribe<number>('private', (m) => got.push(m.data));
  const recovered: boolean[] = [];
  sub.on('subscribed', (e) => recovered.push(e.recovered));
  await sub.ready();
  await broker.publish('private', 1);
  // t1 expires after 1 s: the server closes with 4001 'token expired'.
  await until(() => users.length === 2);
  await broker.publish('private', 2);
  const stop = await stopped; // t2 expires too, and getToken() has nothing more
  expect(users).toEqual(['user-t1', 'user-t2']);
  expect(closes).toEqual([undefined, 4001, 4001]); // the second 4001 leads to getToken() returning null
  expect(asked).toBe(3);
  expect(got).toEqual([1, 2]);
  expect(recovered).toEqual([false, true]);
  expect(stop.code).toBe(4001);
  expect(stop.error).toMatchObject({ code: 'unauthorized' });
  expect(c.state).toBe('disconnected');
  // It stays down: no further attempts.
  await sleep(200);
  expect(asked).toBe(3);
  expect(c.state).toBe('disconnected');
});

it('stops on 4001 without getToken, and when getToken returns the rejected token again', async () => {
  const { url } = await startBroker({ hooks: tokenAuth(60_000) });
  const fixed = new HeraldClient({ url, token: 'nope', minReconnectDelay: 20, maxReconnectDelay: 50 });
  clients.push(fixed);
  await expect(fixed.connect()).rejects.toMatchObject({ code: 'unauthorized', closeCode: 4001 });
  expect(fixed.state).toBe('disconnected');

  let asked = 0;
  const same = new HeraldClient({ url, getToken: () => { asked++; return 'bad'; }, minReconnectDelay: 20, maxReconnectDelay: 50 });
  clients.push(same);
  const errors: HeraldClientError[] = [];
  same.on('error', (e) => errors.push(e));
  await expect(same.connect()).rejects.toMatchObject({ code: 'unauthorized' });
  expect(asked).toBe(2); // the first token, then one that turned out to be the same
  expect(errors.at(-1)!.message).toMatch(/rejected/);
});

it('refreshToken() re-authenticates the live connection before the token expires', async () => {
  const { url } = await startBroker({ hooks: tokenAuth(1500, 'user-t') });
  let n = 0;
  const c = new HeraldClient({ url, getToken: () => `t${++n}` });
  clients.push(c);
  let drops = 0;
  c.on('connecting', (e) => { if (e.code !== undefined) drops++; });
  await c.connect();
  for (let i = 0; i < 3; i++) {
    await sleep(500);
    await c.refreshToken();
  }
  await sleep(700); // past t1's expiry (1.5 s): only the refreshes keep the session alive
  expect(c.connected?.user).toBe('user-t');
  expect(drops).toBe(0);
});

it('stops and reports on 4400 (protocol violations), without reconnecting', async () => {
  const { url, broker } = await startBroker({ limits: { protocolErrors: 2 } });
  let connects = 0;
  broker.on('connect', () => connects++);
  const c = new HeraldClient({ url, minReconnectDelay: 20, maxReconnectDelay: 50 });
  clients.push(c);
  const errors: HeraldClientError[] = [];
  c.on('error', (e) => errors.push(e));
  const stopped = new Promise<DisconnectedEvent>((r) => c.once('disconnected', r));
  await c.connect();
  // A negative limit is a bad_request; the second one crosses the server's protocolErrors limit.
  await expect(c.history('t', { limit: -1 })).rejects.toMatchObject({ code: 'bad_request' });
  await expect(c.history('t', { limit: -1 })).rejects.toMatchObject({ code: 'bad_request' });
  const stop = await stopped;
  expect(stop.code).toBe(4400);
  expect(stop.error).toMatchObject({ code: 'protocol_violation', closeCode: 4400 });
  expect(errors.map((e) => e.code)).toContain('protocol_violation');
  await sleep(200);
  expect(c.state).toBe('disconnected');
  expect(connects).toBe(1);
  await expect(c.publish('t', 1)).rejects.toMatchObject({ code: 'closed' });
});

it('a throwing getToken() is transient: reported as an error, retried with backoff, and the client connects once it answers', async () => {
  const { url } = await startBroker({ hooks: tokenAuth(1000) });
  // First connect: throws twice. After the 4001 of t1's expiry: throws once more, then t2.
  const answers: (string | Error)[] = [new Error('token service down'), new Error('still down'), 't1', new Error('blip'), 't2'];
  let asked = 0;
  const c = new HeraldClient({
    url, minReconnectDelay: 20, maxReconnectDelay: 50,
    getToken: async () => { const a = answers[asked++] ?? null; if (a instanceof Error) throw a; return a; },
  });
  clients.push(c);
  const errors: HeraldClientError[] = [];
  c.on('error', (e) => errors.push(e));
  const reasons: string[] = [];
  c.on('connecting', (e) => reasons.push(e.reason));
  const users: (string | null | undefined)[] = [];
  c.on('connected', (e) => users.push(e.user));
  await c.connect();
  expect(users).toEqual(['user-t1']);
  expect(errors.map((e) => [e.code, e.message])).toEqual([
    ['unauthorized', 'getToken() failed: token service down'],
    ['unauthorized', 'getToken() failed: still down'],
  ]);
  const sub = c.subscribe('x');
  await sub.ready();
  await until(() => users.length === 2); // t1 expired (4001), getToken threw once, then t2
  expect(users).toEqual(['user-t1', 'user-t2']);
  expect(asked).toBe(5);
  expect(errors.map((e) => e.message).at(-1)).toBe('getToken() failed: blip');
  expect(reasons.filter((r) => r === 'getToken failed')).toHaveLength(3);
  expect(c.state).toBe('connected');
});
