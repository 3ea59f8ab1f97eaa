/**
 * Publishes a node's live statistics on a topic every interval, so any Herald client (the
 * dashboard is one) follows them with an ordinary subscription, across a NATS cluster too. Each node
 * publishes on `<topic>.<nodeId>`; a dashboard subscribes to `<topic>.*` and sees every node.
 *
 * Cost: one publication per interval, plus, while running, a listener on the broker's `publish`
 * event that counts topics and keeps the last few publications (no data, no encoding).
 */
import type { BrokerApi, BrokerStats } from '../core/broker-api.js';
import type { Publication } from '../core/publication.js';

export interface StatsOptions {
  /** Topic prefix: each node publishes on `<topic>.<nodeId>` (default 'herald.stats'). */
  topic?: string;
  /** Milliseconds between two publications (default 1000). */
  interval?: number;
  /** Recent publications included in each snapshot (default 10). */
  recent?: number;
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
  /** Per second over the last interval; own stats publications are left out. */
  rates: { publications: number; deliveries: number; fromCluster: number };
  totals: Omit<BrokerStats, 'connections' | 'connectionsByTransport' | 'subscriptions' | 'topics'>;
  /** Topics published on this node during the last interval, busiest first (at most 10). */
  busiest: { topic: string; count: number }[];
  /** The last publications accepted on this node, newest first: topic, position and time, never the data. */
  recent: { topic: string; offset?: number; at: number }[];
}

/** A broker that also emits its lifecycle events (core's Broker does). */
interface PublishEvents {
  on(event: 'publish', listener: (pub: Publication) => void): unknown;
  off(event: 'publish', listener: (pub: Publication) => void): unknown;
}

function emitsPublish(broker: BrokerApi): broker is BrokerApi & PublishEvents {
  return typeof (broker as Partial<PublishEvents>).on === 'function' && typeof (broker as Partial<PublishEvents>).off === 'function';
}

export const DEFAULT_STATS_TOPIC = 'herald.stats';

/** Starts publishing; returns stop(). */
export function publishStats(broker: BrokerApi, options: StatsOptions = {}): () => void {
  const prefix = options.topic ?? DEFAULT_STATS_TOPIC;
  const topic = `${prefix}.${broker.nodeId}`;
  const interval = options.interval ?? 1000;
  const keep = options.recent ?? 10;
  const started = Date.now();
  const counts = new Map<string, number>();
  const recent: StatsSnapshot['recent'] = [];
  let own = 0;
  let previous = { at: performance.now(), stats: broker.stats(), own: 0 };

  const onPublish = (pub: Publication): void => {
    if (pub.origin !== broker.nodeId) return; // each node reports its own; the page merges nodes
    if (pub.topic === topic) return;
    counts.set(pub.topic, (counts.get(pub.topic) ?? 0) + 1);
    recent.unshift({ topic: pub.topic, ...(pub.offset !== undefined ? { offset: pub.offset } : {}), at: Date.now() });
    if (recent.length > keep) recent.length = keep;
  };
  if (emitsPublish(broker)) broker.on('publish', onPublish);

  const tick = (): void => {
    const now = performance.now();
    const stats = broker.stats();
    const seconds = Math.max((now - previous.at) / 1000, 0.001);
    const rate = (n: number) => Math.round((n / seconds) * 10) / 10;
    const { connections, connectionsByTransport, subscriptions, topics, ...totals } = stats;
    const snapshot: StatsSnapshot = {
      node: broker.nodeId,
      at: Date.now(),
      uptime: Math.round((Date.now() - started) / 1000),
      connections, connectionsByTransport, subscriptions, topics,
      rates: {
        publications: rate(stats.publicationsIn - previous.stats.publicationsIn - (own - previous.own)),
        deliveries: rate(stats.deliveries - previous.stats.deliveries),
        fromCluster: rate(stats.publicationsFromCluster - previous.stats.publicationsFromCluster),
      },
      totals,
      busiest: [...counts].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([t, count]) => ({ topic: t, count })),
      recent: [...recent],
    };
    previous = { at: now, stats, own };
    counts.clear();
    own++;
    broker.publish(topic, snapshot).catch(() => undefined); // shutting down: nothing to report
  };
  const timer = setInterval(tick, interval);
  timer.unref();
  return () => {
    clearInterval(timer);
    if (emitsPublish(broker)) broker.off('publish', onPublish);
  };
}
