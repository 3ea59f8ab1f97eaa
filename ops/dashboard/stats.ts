/**
 * Publishes a node's live statistics on a topic every interval, so any Herald client (the
 * dashboard is one) follows them with an ordinary subscription, across a NATS cluster too. Each node
 * publishes on `<topic>.<nodeId>`; a dashboard subscribes to `<topic>.*` and sees every node.
 *
 * The stats traffic itself (every node's snapshots and their deliveries) is internal: it is left
 * out of every publication and delivery figure, and its subscriptions out of the topic list, so an
 * idle broker shows zero user traffic. Snapshots also carry the node's busiest subscribed patterns
 * and its connections (bounded lists), for the dashboard's topic browser and connection list:
 * grant `<topic>.*` to operators only (docs/security.md).
 *
 * Cost: one publication per interval, plus, while running, listeners on the broker's `publish`,
 * `connect` and `disconnect` events (counts and the last few publications; no data, no encoding).
 */
import { type BrokerApi, type BrokerStats, matches, type Publication, type SessionHandle } from '../../core/plugin.js';

export interface StatsOptions {
  /** Topic prefix: each node publishes on `<topic>.<nodeId>` (default 'herald.stats'). */
  topic?: string;
  /** Milliseconds between two publications (default 1000). */
  interval?: number;
  /** Recent publications included in each snapshot (default 10). */
  recent?: number;
  /** Connections listed in each snapshot at most, oldest first (default 100). */
  connections?: number;
  /** Subscribed patterns listed at most, most subscribers first (default 50). */
  topics?: number;
}

/** One connection as a snapshot lists it. */
export interface ConnectionSummary {
  client: string;
  user: string | null;
  transport: string;
  address: string;
  /** Epoch milliseconds. */
  since: number;
  /** Its patterns (at most 20) and how many it holds. */
  subscriptions: string[];
  subscriptionCount: number;
}

/** One snapshot, as published. */
export interface StatsSnapshot {
  node: string;
  /** Epoch milliseconds. */
  at: number;
  uptime: number;
  connections: number;
  connectionsByTransport: Record<string, number>;
  subscriptions: number;
  topics: number;
  /** Per second over the last interval; stats traffic is left out. */
  rates: { publications: number; deliveries: number; fromCluster: number };
  /** Since this publisher started counting; publicationsIn, publicationsFromCluster and deliveries without stats traffic. */
  totals: Omit<BrokerStats, 'connections' | 'connectionsByTransport' | 'subscriptions' | 'topics'>;
  /** Patterns subscribed on this node (stats patterns left out), most subscribers first. */
  subscribed: { topic: string; subscribers: number }[];
  /** This node's connections (at most `connections`), and how many there are in all. */
  clients: ConnectionSummary[];
  /** Topics published on this node during the last interval, busiest first (at most 10). */
  busiest: { topic: string; count: number }[];
  /** The last publications accepted on this node, newest first: topic, position and time, never the data. */
  recent: { topic: string; offset?: number; at: number }[];
}

/** A broker that also emits its lifecycle events (core's Broker does). */
interface PublishEvents {
  on(event: 'publish', listener: (pub: Publication) => void): unknown;
  off(event: 'publish', listener: (pub: Publication) => void): unknown;
  on(event: 'connect' | 'disconnect', listener: (session: SessionHandle) => void): unknown;
  off(event: 'connect' | 'disconnect', listener: (session: SessionHandle) => void): unknown;
}

function emitsPublish(broker: BrokerApi): broker is BrokerApi & PublishEvents {
  return typeof (broker as Partial<PublishEvents>).on === 'function' && typeof (broker as Partial<PublishEvents>).off === 'function';
}

export const DEFAULT_STATS_TOPIC = 'herald.stats';

/** Starts publishing; returns stop(). */
export function publishStats(broker: BrokerApi, options: StatsOptions = {}): () => void {
  const prefix = options.topic ?? DEFAULT_STATS_TOPIC;
  const topic = `${prefix}.${broker.nodeId}`;
  const internal = (t: string): boolean => t.startsWith(`${prefix}.`) || t === prefix;
  const interval = options.interval ?? 1000;
  const keep = options.recent ?? 10;
  const maxClients = options.connections ?? 100;
  const maxTopics = options.topics ?? 50;
  const started = Date.now();
  const counts = new Map<string, number>();
  const recent: StatsSnapshot['recent'] = [];
  /** Live sessions and when they connected (insertion order: oldest first). */
  const sessions = new Map<SessionHandle, number>();
  // Stats traffic, subtracted from the broker's counters.
  const own = { publications: 0, fromCluster: 0, deliveries: 0 };
  const base = broker.stats();

  const onPublish = (pub: Publication): void => {
    if (internal(pub.topic)) {
      if (pub.origin === broker.nodeId) own.publications++;
      else own.fromCluster++;
      // Deliveries the broker counted for it: every local session with a matching pattern.
      for (const session of sessions.keys()) {
        for (const pattern of session.subscriptions.keys()) if (matches(pattern, pub.topic)) { own.deliveries++; break; }
      }
      return;
    }
    if (pub.origin !== broker.nodeId) return; // each node reports its own; the page merges nodes
    counts.set(pub.topic, (counts.get(pub.topic) ?? 0) + 1);
    recent.unshift({ topic: pub.topic, ...(pub.offset !== undefined ? { offset: pub.offset } : {}), at: Date.now() });
    if (recent.length > keep) recent.length = keep;
  };
  const onConnect = (session: SessionHandle): void => { sessions.set(session, Date.now()); };
  const onDisconnect = (session: SessionHandle): void => { sessions.delete(session); };
  if (emitsPublish(broker)) {
    broker.on('publish', onPublish);
    broker.on('connect', onConnect);
    broker.on('disconnect', onDisconnect);
  }

  /** The broker's counters since start, without stats traffic. */
  const userStats = (): BrokerStats => {
    const stats = broker.stats();
    return {
      ...stats,
      publicationsIn: stats.publicationsIn - base.publicationsIn - own.publications,
      publicationsFromCluster: stats.publicationsFromCluster - base.publicationsFromCluster - own.fromCluster,
      deliveries: stats.deliveries - base.deliveries - own.deliveries,
    };
  };

  const subscribed = (): StatsSnapshot['subscribed'] => {
    const by = new Map<string, number>();
    for (const session of sessions.keys()) for (const pattern of session.subscriptions.keys()) if (!internal(pattern)) by.set(pattern, (by.get(pattern) ?? 0) + 1);
    return [...by].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, maxTopics).map(([t, subscribers]) => ({ topic: t, subscribers }));
  };

  const clients = (): ConnectionSummary[] => {
    const list: ConnectionSummary[] = [];
    for (const [session, since] of sessions) {
      if (list.length >= maxClients) break;
      const patterns = [...session.subscriptions.keys()];
      list.push({
        client: session.id,
        user: session.principal?.user ?? null,
        transport: session.transport,
        address: session.handshake.remoteAddress,
        since,
        subscriptions: patterns.slice(0, 20),
        subscriptionCount: patterns.length,
      });
    }
    return list;
  };

  let previous = { at: performance.now(), stats: userStats() };
  const tick = (): void => {
    const now = performance.now();
    const stats = userStats();
    const seconds = Math.max((now - previous.at) / 1000, 0.001);
    const rate = (n: number) => Math.round((n / seconds) * 10) / 10;
    const { connections, connectionsByTransport, subscriptions, topics, ...totals } = stats;
    const snapshot: StatsSnapshot = {
      node: broker.nodeId,
      at: Date.now(),
      uptime: Math.round((Date.now() - started) / 1000),
      connections, connectionsByTransport, subscriptions, topics,
      rates: {
        publications: rate(stats.publicationsIn - previous.stats.publicationsIn),
        deliveries: rate(stats.deliveries - previous.stats.deliveries),
        fromCluster: rate(stats.publicationsFromCluster - previous.stats.publicationsFromCluster),
      },
      totals,
      subscribed: subscribed(),
      clients: clients(),
      busiest: [...counts].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([t, count]) => ({ topic: t, count })),
      recent: [...recent],
    };
    previous = { at: now, stats };
    counts.clear();
    broker.publish(topic, snapshot).catch(() => undefined); // shutting down: nothing to report
  };
  const timer = setInterval(tick, interval);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (emitsPublish(broker)) {
      broker.off('publish', onPublish);
      broker.off('connect', onConnect);
      broker.off('disconnect', onDisconnect);
    }
  };
}
