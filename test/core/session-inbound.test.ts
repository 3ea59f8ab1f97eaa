import { describe, expect, it } from 'vitest';
import type { Limits, Principal } from '../../core/contracts.js';
import type { ServerMessage } from '../../core/protocol.js';
import { startBroker, until } from '../helpers/broker.js';
import { MemoryTransport, type MemoryConnection } from '../helpers/memory-transport.js';

/** A promise opened by the test: hooks wait on it, so a command stays in flight until the test says. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => { open = resolve; });
  return { wait, open };
}

/** Two setImmediate passes: whatever the session queued this turn has been written. */
const nextTurn = async (): Promise<void> => {
  for (let i = 0; i < 2; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** A connection on a broker whose authorize hook holds every subscribe until `held` opens. */
async function heldSubscribes(limits: Partial<Limits> = {}): Promise<{ held: ReturnType<typeof gate>; c: MemoryConnection }> {
  const held = gate();
  const memory = new MemoryTransport();
  await startBroker({
    transports: [memory],
    limits,
    hooks: { authorize: async (_p: Principal, action: string) => { if (action === 'subscribe') await held.wait; return true; } },
  });
  return { held, c: memory.connect() };
}

const replies = (c: MemoryConnection): Extract<ServerMessage, { id: number }>[] =>
  c.messages().filter((m): m is Extract<ServerMessage, { id: number }> => 'id' in m);

describe('Session inbound: order', () => {
  it('holds the commands behind one that waits on I/O and runs them in order once it settles, reply callbacks kept', async () => {
    const { held, c } = await heldSubscribes();
    c.session.handle({ op: 'sub', topic: 'slow', id: 1 });
    c.session.handle({ op: 'ping', id: 2 });
    c.session.handle({ op: 'ping' }, c.replyTo());
    c.session.handle({ op: 'ping', id: 3 });
    c.session.handle({ op: 'ping', id: 4 });
    // Nothing behind the held subscribe has run, a turn's write later: not a reply, not a callback.
    await nextTurn();
    expect(c.stream).toEqual([]);
    held.open();
    await until(() => replies(c).length === 4, 'the four wire replies');
    expect(replies(c).map((m) => m.id)).toEqual([1, 2, 3, 4]);
    const order = c.stream.flatMap((e) => (e.kind === 'reply' ? ['callback'] : e.kind === 'message' && 'id' in e.message ? [`id ${e.message.id}`] : []));
    expect(order).toEqual(['id 1', 'id 2', 'callback', 'id 3', 'id 4']);
  });

  it('runs the commands sent before authentication settled after it, in order, as the authenticated principal', async () => {
    const held = gate();
    const memory = new MemoryTransport();
    await startBroker({
      transports: [memory],
      hooks: { authenticate: async () => { await held.wait; return { user: 'ada' }; } },
    });
    const c = memory.connect();
    c.session.handle({ op: 'sub', topic: 'mine', id: 1 });
    c.session.handle({ op: 'presence', topic: 'mine', id: 2 });
    expect(c.messages()).toEqual([]);
    held.open();
    await until(() => replies(c).length === 2, 'both replies');
    const [sub, presence] = replies(c);
    expect(sub).toMatchObject({ id: 1, ok: true });
    expect(presence).toMatchObject({ id: 2, ok: true, clients: [{ user: 'ada' }] });
  });
});

describe('Session inbound: bounds', () => {
  it('refuses a command over limits.pendingCommands waiting with rate_limited under its id, and runs those it queued', async () => {
    const { held, c } = await heldSubscribes({ pendingCommands: 3 });
    c.session.handle({ op: 'sub', topic: 'slow', id: 1 });
    for (let id = 2; id <= 6; id++) c.session.handle({ op: 'ping', id });
    // Three wait; the fourth and fifth are refused at once.
    await until(() => replies(c).length === 2, 'the two refusals');
    expect(replies(c).map((m) => [m.id, m.ok ? 'ok' : m.error.code])).toEqual([[5, 'rate_limited'], [6, 'rate_limited']]);
    held.open();
    await until(() => replies(c).length === 6, 'the queued replies');
    expect(replies(c).slice(2).map((m) => [m.id, m.ok])).toEqual([[1, true], [2, true], [3, true], [4, true]]);
    expect(c.closed).toBeUndefined();
  });

  it('answers commands over the connection rate with rate_limited, and closes with 4029 after limits.rateLimitStrikes in a row', async () => {
    const memory = new MemoryTransport();
    await startBroker({ transports: [memory], limits: { messageRate: 1, messageBurst: 2, rateLimitStrikes: 3 } });
    const c = memory.connect();
    for (let id = 1; id <= 4; id++) c.session.handle({ op: 'ping', id });
    await until(() => replies(c).length === 4, 'four replies');
    expect(replies(c).map((m) => (m.ok ? 'ok' : m.error.code))).toEqual(['ok', 'ok', 'rate_limited', 'rate_limited']);
    expect(c.closed).toBeUndefined();
    c.session.handle({ op: 'ping', id: 5 });
    expect(c.closed).toEqual({ code: 4029, reason: 'rate limited' });
    expect(c.session.isClosed).toBe(true);
  });

  it('charges the principal rate to the user once signed in, and says so', async () => {
    const memory = new MemoryTransport();
    await startBroker({
      transports: [memory],
      limits: { principalRate: 1, principalBurst: 2 },
      hooks: { authenticate: async (h: { token?: string }) => (h.token ? { user: h.token } : null) },
    });
    const c = memory.connect();
    c.session.handle({ op: 'auth', token: 'ada', id: 1 });
    await until(() => replies(c).length === 1, 'the auth reply');
    // The auth itself was charged to the (loopback) address; the user's burst of two starts now.
    for (let id = 2; id <= 4; id++) c.session.handle({ op: 'ping', id });
    await until(() => replies(c).length === 4, 'three pings');
    expect(replies(c).slice(1, 3).map((m) => m.ok)).toEqual([true, true]);
    const refused = replies(c)[3]!;
    expect(refused).toMatchObject({ id: 4, ok: false, error: { code: 'rate_limited' } });
    expect(!refused.ok && refused.error.message).toMatch(/for this user$/);
  });
});
