/**
 * Load-client child: holds many subscriber connections (grouped by tag, spread over 127.0.0.x source
 * addresses), counts what they receive, records latency, and runs open-loop publishers.
 * Started by bench scenarios through children.ts; one process stays under ~19,900 sockets.
 */
import { serve } from './child-runtime.js';
import { dialects, nowMicros, stampedPayload, type DialectName, type SubscriberState } from './dialects.js';
import { encode, newHistogram, type Histogram } from './histogram.js';
import { SseWireClient } from './sse-wire.js';
import { clientFrame, OP, WireClient } from './ws-wire.js';

interface Group {
  clients: { close(): void; ping?(): void }[];
  received: number;
  latency: Histogram | undefined;
}

const groups = new Map<string, Group>();

export interface ConnectParams {
  tag: string;
  /** A WebSocket dialect, or 'sse' for text/event-stream subscribers (GET /events?topic=…). */
  dialect: DialectName | 'sse';
  host: string;
  port: number;
  count: number;
  topic: string;
  /** Source addresses 127.0.0.<first>.. are cycled through. */
  sourceFirst: number;
  sourceCount: number;
  /** Connections opening at once. */
  concurrency?: number;
}

async function connect(p: ConnectParams): Promise<{ connected: number; ms: number }> {
  const group: Group = groups.get(p.tag) ?? { clients: [], received: 0, latency: undefined };
  groups.set(p.tag, group);
  const started = Date.now();
  let next = 0;
  const sse = async (i: number): Promise<void> => {
    const client = new SseWireClient({
      host: p.host, port: p.port, path: `/events?topic=${encodeURIComponent(p.topic)}`,
      localAddress: `127.0.0.${p.sourceFirst + (i % p.sourceCount)}`,
      onMessages: (n) => { group.received += n; },
    });
    await client.ready();
    group.clients.push(client);
  };
  if (p.dialect === 'sse') {
    const workers = Array.from({ length: Math.min(p.concurrency ?? 100, p.count) }, async () => {
      while (next < p.count) await sse(next++);
    });
    await Promise.all(workers);
    return { connected: group.clients.length, ms: Date.now() - started };
  }
  const dialect = dialects[p.dialect];
  const one = async (i: number): Promise<void> => {
    const state: SubscriberState = { ready: false };
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((r) => { markReady = r; });
    const client: WireClient = new WireClient({
      host: p.host,
      port: p.port,
      path: dialect.path,
      protocol: dialect.protocol,
      localAddress: `127.0.0.${p.sourceFirst + (i % p.sourceCount)}`,
      wantPayload: true,
      onFrame: (_opcode, payload) => {
        const wasReady = state.ready;
        const h = group.latency;
        group.received += dialect.onFrame(state, payload, h ? (us) => h.recordValue(Math.max(1, nowMicros() - us)) : undefined, (b) => client.sendRaw(b));
        if (!wasReady && state.ready) markReady();
      },
    });
    await client.ready();
    client.sendRaw(dialect.subscribeFrames(p.topic, state));
    await ready;
    group.clients.push({ close: () => client.close(), ping: () => client.send(OP.ping, '') });
  };
  const workers = Array.from({ length: Math.min(p.concurrency ?? 100, p.count) }, async () => {
    while (next < p.count) await one(next++);
  });
  await Promise.all(workers);
  return { connected: group.clients.length, ms: Date.now() - started };
}

/** Starts (or stops) recording the latency of every message the group receives. */
function setLatency(tag: string, latency: boolean): void {
  const group = groups.get(tag);
  if (!group) return;
  group.latency = latency ? newHistogram() : undefined;
}

interface PublishParams {
  dialect: DialectName;
  host: string;
  port: number;
  topic: string;
  /** Bursts per second (open loop: each burst is due at start + i / rate). */
  rate: number;
  burst: number;
  durationMs: number;
  payloadBytes: number;
}

/**
 * Open-loop publisher: each burst has an intended send time and carries it, so a stalled server
 * shows as latency (no coordinated omission). Reports offered vs achieved send rate.
 */
async function publish(p: PublishParams): Promise<{ sent: number; offered: number; achieved: number; maxLagMs: number }> {
  const dialect = dialects[p.dialect];
  const client = new WireClient({ host: p.host, port: p.port, path: dialect.path, protocol: dialect.protocol, wantPayload: false, onFrame: () => undefined });
  await client.ready();
  const hello = dialect.publisherHello();
  if (hello) client.sendRaw(hello);
  const total = Math.round((p.rate * p.durationMs) / 1000);
  const interval = 1e6 / p.rate;
  const start = nowMicros() + 1000;
  let sent = 0;
  let maxLag = 0;
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    let now = nowMicros();
    if (due > now) {
      const waitMs = (due - now) / 1000;
      // setTimeout has ~1 ms granularity: sleep most of the way, then spin the rest briefly.
      if (waitMs > 1.5) await new Promise((r) => setTimeout(r, waitMs - 1));
      while ((now = nowMicros()) < due) { /* spin < 1 ms */ }
    }
    maxLag = Math.max(maxLag, now - due);
    const frames: Buffer[] = [];
    for (let b = 0; b < p.burst; b++) frames.push(dialect.publishFrame(p.topic, stampedPayload(Math.round(due), p.payloadBytes)));
    client.sendRaw(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
    sent += p.burst;
  }
  // Up to the end of the last burst's slot: on schedule, achieved = offered.
  const elapsed = (nowMicros() - start + interval) / 1e6;
  await new Promise((r) => setTimeout(r, 50));
  client.close();
  return { sent, offered: p.rate * p.burst, achieved: sent / Math.max(elapsed, 1e-6), maxLagMs: maxLag / 1000 };
}

interface SaturateParams {
  host: string;
  port: number;
  topic: string;
  /** Publications awaiting their reply at any time (Herald protocol v1 `pub` with an id). */
  window: number;
  durationMs: number;
  payloadBytes: number;
}

/**
 * Closed-loop publisher for throughput at saturation: keeps `window` `pub` commands awaiting their
 * reply for `durationMs`, so the server publishes as fast as it can acknowledge (no rate any server
 * meets), then waits for the outstanding replies. Herald protocol v1 only (it needs the replies).
 */
async function saturate(p: SaturateParams): Promise<{ sent: number; acked: number; refused: number; issueMs: number; ms: number }> {
  let acked = 0;
  let refused = 0;
  let sent = 0;
  let outstanding = 0;
  let wake: (() => void) | undefined;
  const client = new WireClient({
    host: p.host, port: p.port, path: '/ws', protocol: 'herald.v1.json', wantPayload: true,
    onFrame: (opcode, payload) => {
      if (opcode !== OP.text || payload === undefined) return;
      const m = JSON.parse(payload.toString('utf8')) as { id?: number; ok?: boolean };
      if (typeof m.id !== 'number') return;
      if (m.ok === true) acked++; else refused++;
      outstanding--;
      wake?.();
    },
  });
  await client.ready();
  let closed = false;
  client.socket.once('close', () => { closed = true; wake?.(); });
  const started = nowMicros();
  const until = started + p.durationMs * 1000;
  const waitForReply = (): Promise<void> => new Promise((r) => { wake = () => { wake = undefined; r(); }; });
  while (nowMicros() < until && !closed) {
    const frames: Buffer[] = [];
    while (outstanding < p.window) {
      frames.push(clientFrame(OP.text, JSON.stringify({ op: 'pub', id: ++sent, topic: p.topic, data: stampedPayload(nowMicros(), p.payloadBytes) })));
      outstanding++;
    }
    if (frames.length > 0) client.sendRaw(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
    await waitForReply();
  }
  const issueMs = (nowMicros() - started) / 1000;
  const deadline = Date.now() + 30_000;
  while (outstanding > 0 && !closed && Date.now() < deadline) await Promise.race([waitForReply(), new Promise((r) => setTimeout(r, 100))]);
  const ms = (nowMicros() - started) / 1000;
  client.close();
  // Never answered (the connection closed, or 30 s passed): counted as refused, so they count as drops.
  return { sent, acked, refused: refused + outstanding, issueMs, ms };
}

serve({
  connect,
  counts: ({ tags }: { tags: string[] }) => Object.fromEntries(tags.map((t) => [t, groups.get(t)?.received ?? 0])),
  latencyStart: ({ tag }: { tag: string }) => setLatency(tag, true),
  latencyTake: ({ tag }: { tag: string }) => {
    const group = groups.get(tag);
    const h = group?.latency;
    if (group) group.latency = undefined;
    return h ? encode(h) : encode(newHistogram());
  },
  /** One WebSocket ping to every connection of the group (the server answers each with a pong). */
  ping: ({ tag }: { tag: string }) => {
    let sent = 0;
    for (const c of groups.get(tag)?.clients ?? []) if (c.ping) { c.ping(); sent++; }
    return sent;
  },
  disconnect: ({ tag }: { tag: string }) => {
    for (const c of groups.get(tag)?.clients ?? []) c.close();
    groups.delete(tag);
  },
  memory: () => process.memoryUsage().rss,
  publish,
  saturate,
});
