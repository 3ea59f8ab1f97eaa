/**
 * Presence across nodes, replicated through core NATS. Every node owns the entries of its own
 * clients and keeps a replica of every other node's entries, so presence() is a local read.
 *
 * - Changes travel as events on one subject; each carries the sender's presence version (+1 per
 *   change). A node that sees a gap in a sender's versions (a lost event, a NATS outage) fetches
 *   that node's snapshot and turns the difference into join/leave events.
 * - Heartbeats (every heartbeatMs) carry the version too, so a node whose replica fell behind
 *   notices within one heartbeat; a node heard of for the first time is synced the same way.
 * - A node silent for nodeTimeoutMs is dead: its clients leave. A node that closes says goodbye,
 *   so its clients leave at once.
 * - While this node itself is cut off from NATS it cannot tell a dead node from its own outage:
 *   it keeps the last known view and does not expire anybody until it hears from NATS again.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { PresenceEntry } from '../../core/plugin.js';
import { pack, unpack, type PresenceMessage, type PresenceSnapshot } from './envelope.js';
import type { Subjects } from './subjects.js';

type Entries = Map<string, Map<string, PresenceEntry>>;
type Emit = (kind: 'join' | 'leave', topic: string, entry: PresenceEntry) => void;

interface Peer {
  version: number;
  /** Highest version announced by the peer (events, heartbeats), even while we could not apply it. */
  announced: number;
  lastSeen: number;
  entries: Entries;
  syncing: boolean;
}

export interface PresenceTimings {
  heartbeatMs: number;
  nodeTimeoutMs: number;
  requestTimeoutMs: number;
}

function put(entries: Entries, topic: string, entry: PresenceEntry): void {
  let clients = entries.get(topic);
  if (clients === undefined) entries.set(topic, (clients = new Map()));
  clients.set(entry.client, entry);
}

function take(entries: Entries, topic: string, client: string): PresenceEntry | undefined {
  const clients = entries.get(topic);
  const found = clients?.get(client);
  if (found === undefined) return undefined;
  clients!.delete(client);
  if (clients!.size === 0) entries.delete(topic);
  return found;
}

const sameEntry = (a: PresenceEntry, b: PresenceEntry) => a.user === b.user && JSON.stringify(a.info) === JSON.stringify(b.info);

export class ClusterPresence {
  private readonly nc: NatsConnection;
  private readonly subjects: Subjects;
  private readonly nodeId: string;
  private readonly logger: Logger;
  private readonly emit: Emit;
  private readonly timings: PresenceTimings;
  private readonly isConnected: () => boolean;
  private readonly local: Entries = new Map();
  private version = 0;
  private readonly peers = new Map<string, Peer>();
  private readonly subs: Subscription[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Dead-node expiry is suspended until this time (set on reconnect: everyone gets a fresh grace period). */
  private graceUntil = 0;
  private closed = false;

  constructor(nc: NatsConnection, subjects: Subjects, nodeId: string, logger: Logger, emit: Emit, timings: PresenceTimings, isConnected: () => boolean) {
    this.nc = nc;
    this.subjects = subjects;
    this.nodeId = nodeId;
    this.logger = logger;
    this.emit = emit;
    this.timings = timings;
    this.isConnected = isConnected;
  }

  /** Listens, fetches every other node's snapshot (hello), then heartbeats. */
  async start(): Promise<void> {
    const s = this.subjects;
    this.subs.push(this.nc.subscribe(s.presenceEvents, { callback: (err, msg) => { if (!err) this.onEvent(msg); } }));
    const answer = (err: Error | null, msg: Msg) => {
      if (err || this.closed) return;
      try { msg.respond(pack(this.snapshot())); } catch (e) { this.logger.debug({ err: e }, 'presence snapshot not sent'); }
    };
    this.subs.push(this.nc.subscribe(s.presenceHello, { callback: answer }));
    this.subs.push(this.nc.subscribe(s.presenceSnapshot(this.nodeId), { callback: answer }));
    await this.nc.flush();
    try {
      // Every node answers; stop once answers stall, so a lone node does not wait long.
      const replies = await this.nc.requestMany(s.presenceHello, pack({ n: this.nodeId }), {
        strategy: 'stall', stall: 100, maxWait: this.timings.requestTimeoutMs,
      });
      for await (const msg of replies) {
        try { this.applySnapshot(unpack<PresenceSnapshot>(msg.data)); } catch { /* not a snapshot (no responders status) */ }
      }
    } catch (err) {
      this.logger.debug({ err }, 'presence hello got no answer');
    }
    this.heartbeat();
    this.timer = setInterval(() => { this.heartbeat(); this.sweep(); }, this.timings.heartbeatMs);
    this.timer.unref();
  }

  private snapshot(): PresenceSnapshot {
    const e: [string, PresenceEntry][] = [];
    for (const [topic, clients] of this.local) for (const entry of clients.values()) e.push([topic, entry]);
    return { n: this.nodeId, v: this.version, e };
  }

  private send(message: PresenceMessage): void {
    // Skipped while disconnected: the version in the next heartbeat makes the others resync.
    if (this.closed || !this.isConnected()) return;
    try {
      this.nc.publish(this.subjects.presenceEvents, pack(message));
    } catch (err) {
      this.logger.debug({ err }, 'presence event not sent');
    }
  }

  private heartbeat(): void {
    this.send({ k: 'hb', n: this.nodeId, v: this.version });
  }

  /** Other nodes heard from and not timed out (control commands wait for this many answers). */
  get peerCount(): number {
    return this.peers.size;
  }

  join(topic: string, entry: PresenceEntry): void {
    put(this.local, topic, entry);
    this.send({ k: 'j', n: this.nodeId, v: ++this.version, t: topic, c: entry });
  }

  leave(topic: string, client: string): void {
    const found = take(this.local, topic, client);
    if (found === undefined) return;
    this.send({ k: 'l', n: this.nodeId, v: ++this.version, t: topic, c: found });
  }

  list(topic: string): PresenceEntry[] {
    const out: PresenceEntry[] = [];
    const mine = this.local.get(topic);
    if (mine) out.push(...mine.values());
    for (const peer of this.peers.values()) {
      const theirs = peer.entries.get(topic);
      if (theirs) out.push(...theirs.values());
    }
    return out;
  }

  /** NATS is back: give every peer a fresh grace period, and tell them our version. */
  reconnected(): void {
    const now = Date.now();
    this.graceUntil = now + this.timings.nodeTimeoutMs;
    for (const peer of this.peers.values()) peer.lastSeen = now;
    this.heartbeat();
  }

  private onEvent(msg: Msg): void {
    let m: PresenceMessage;
    try {
      m = unpack<PresenceMessage>(msg.data);
    } catch (err) {
      this.logger.warn({ err, subject: msg.subject }, 'undecodable presence message dropped');
      return;
    }
    if (m.n === this.nodeId) return;
    if (m.k === 'bye') {
      this.drop(m.n, 'closed');
      return;
    }
    let peer = this.peers.get(m.n);
    if (peer === undefined) {
      peer = { version: -1, announced: m.v, lastSeen: Date.now(), entries: new Map(), syncing: false };
      this.peers.set(m.n, peer);
      this.sync(m.n);
      return;
    }
    peer.lastSeen = Date.now();
    if (m.v > peer.announced) peer.announced = m.v;
    if (m.k === 'hb') {
      if (m.v !== peer.version) this.sync(m.n);
      return;
    }
    if (peer.syncing) return;
    if (m.v !== peer.version + 1) {
      this.sync(m.n);
      return;
    }
    peer.version = m.v;
    if (m.k === 'j') {
      put(peer.entries, m.t, m.c);
      this.emit('join', m.t, m.c);
    } else {
      const found = take(peer.entries, m.t, m.c.client);
      if (found) this.emit('leave', m.t, found);
    }
  }

  /** Fetches one node's snapshot and applies the difference. */
  private sync(nodeId: string): void {
    const peer = this.peers.get(nodeId);
    if (peer === undefined || peer.syncing || this.closed) return;
    peer.syncing = true;
    this.nc.request(this.subjects.presenceSnapshot(nodeId), undefined, { timeout: this.timings.requestTimeoutMs })
      .then((msg) => {
        peer.syncing = false;
        this.applySnapshot(unpack<PresenceSnapshot>(msg.data));
        // Changes announced while the snapshot was on its way: fetch again.
        const now = this.peers.get(nodeId);
        if (now !== undefined && now.announced > now.version) this.sync(nodeId);
      }, (err: unknown) => {
        peer.syncing = false;
        this.logger.debug({ err, node: nodeId }, 'presence snapshot request failed; next heartbeat retries');
      });
  }

  private applySnapshot(snap: PresenceSnapshot): void {
    if (this.closed || snap.n === this.nodeId) return;
    let peer = this.peers.get(snap.n);
    if (peer === undefined) {
      peer = { version: -1, announced: snap.v, lastSeen: Date.now(), entries: new Map(), syncing: false };
      this.peers.set(snap.n, peer);
    }
    if (snap.v < peer.version) return;
    const next: Entries = new Map();
    for (const [topic, entry] of snap.e) put(next, topic, entry);
    for (const [topic, clients] of peer.entries) {
      for (const [client, entry] of clients) {
        const now = next.get(topic)?.get(client);
        if (now === undefined) this.emit('leave', topic, entry);
      }
    }
    for (const [topic, clients] of next) {
      for (const [client, entry] of clients) {
        const before = peer.entries.get(topic)?.get(client);
        if (before === undefined || !sameEntry(before, entry)) this.emit('join', topic, entry);
      }
    }
    peer.entries = next;
    peer.version = snap.v;
    if (snap.v > peer.announced) peer.announced = snap.v;
    peer.lastSeen = Date.now();
  }

  /** Forgets a node: each of its clients leaves. */
  private drop(nodeId: string, why: string): void {
    const peer = this.peers.get(nodeId);
    if (peer === undefined) return;
    this.peers.delete(nodeId);
    let clients = 0;
    for (const [topic, entries] of peer.entries) {
      for (const entry of entries.values()) {
        clients++;
        this.emit('leave', topic, entry);
      }
    }
    this.logger[why === 'closed' ? 'debug' : 'warn']({ node: nodeId, clients, why }, 'node left the cluster; its clients left presence');
  }

  private sweep(): void {
    const now = Date.now();
    if (!this.isConnected() || now < this.graceUntil) return;
    for (const [nodeId, peer] of this.peers) {
      if (now - peer.lastSeen > this.timings.nodeTimeoutMs) this.drop(nodeId, `no heartbeat for ${now - peer.lastSeen} ms`);
    }
  }

  /** Says goodbye (the others drop our clients at once) and stops. */
  close(): void {
    if (this.closed) return;
    this.send({ k: 'bye', n: this.nodeId });
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const sub of this.subs) sub.unsubscribe();
    this.subs.length = 0;
  }
}
