/**
 * The Prometheus registry of one broker. Nothing here runs on the publish path: every Herald metric
 * is read from broker.stats() (and the cluster adapter's stats) when Prometheus scrapes, so a broker
 * nobody scrapes pays nothing. One registry per broker, never prom-client's global one, so two
 * brokers in one process (tests, a blue/green pair) do not clash.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { BrokerStats, ClusterAdapter } from '../../core/plugin.js';

/** What the registry reads; a Broker is one. */
export interface MetricsSource {
  stats(): BrokerStats;
}

/** An adapter that reports cluster health (the NATS adapter does; the memory adapter does not). */
export type ClusterStatsSource = Required<Pick<ClusterAdapter, 'stats'>> & Pick<ClusterAdapter, 'rtt'>;

export interface MetricsRegistryOptions {
  /** Also collect prom-client's default process and Node metrics: CPU, memory, handles, GC, event-loop delay (default true). */
  defaultMetrics?: boolean;
  /** A registry to add Herald's metrics to (default: a new one). */
  registry?: Registry;
}

/** True when `adapter` reports cluster stats (the NATS adapter does; the memory adapter does not). */
export function hasClusterStats(adapter: ClusterAdapter | undefined): adapter is ClusterAdapter & ClusterStatsSource {
  return typeof adapter?.stats === 'function';
}

type Reader = (stats: BrokerStats) => number;

export function createMetricsRegistry(source: MetricsSource, adapter: ClusterAdapter | undefined, options: MetricsRegistryOptions = {}): Registry {
  const registry = options.registry ?? new Registry();
  // One stats() per scrape, shared by every metric's collect() of that scrape (they run in one turn).
  let cached: BrokerStats | undefined;
  const stats = (): BrokerStats => {
    if (cached === undefined) {
      cached = source.stats();
      setImmediate(() => { cached = undefined; });
    }
    return cached;
  };
  const registers = [registry];

  const gauge = (name: string, help: string, read: Reader): void => {
    new Gauge({ name, help, registers, collect() { this.set(read(stats())); } });
  };
  const counter = (name: string, help: string, read: Reader): void => {
    new Counter({ name, help, registers, collect() { this.reset(); this.inc(read(stats())); } });
  };

  new Gauge({
    name: 'herald_connections',
    help: 'Open client sessions, by transport',
    labelNames: ['transport'],
    registers,
    collect() {
      this.reset();
      for (const [transport, n] of Object.entries(stats().connectionsByTransport)) this.set({ transport }, n);
    },
  });
  gauge('herald_subscriptions', 'Subscriptions held by open sessions', (s) => s.subscriptions);
  gauge('herald_topics', 'Distinct topics and patterns with a subscriber on this node', (s) => s.topics);
  new Counter({
    name: 'herald_publications_total',
    help: 'Publications fanned out on this node, by origin: accepted here (local) or by another node (cluster)',
    labelNames: ['origin'],
    registers,
    collect() {
      const s = stats();
      this.reset();
      this.inc({ origin: 'local' }, s.publicationsIn);
      this.inc({ origin: 'cluster' }, s.publicationsFromCluster);
    },
  });
  counter('herald_deliveries_total', 'Publications queued to sessions (one per matching session)', (s) => s.deliveries);
  counter('herald_dropped_messages_total', 'Messages discarded because their session was closed as a slow consumer', (s) => s.droppedMessages);
  counter('herald_slow_consumer_closes_total', 'Sessions closed with 4008 because their outbound queue passed the byte cap', (s) => s.slowConsumerCloses);
  counter('herald_encode_failures_total', 'Publications a subscriber\'s encoder could not encode: skipped for that subscriber alone, delivered to the others', (s) => s.encodeFailures);
  counter('herald_gap_unsubscribes_total', 'Subscriptions dropped with an unsub push (reason gap): the cluster link broke and their publications could not be repaired from history', (s) => s.gapUnsubscribes);
  new Counter({
    name: 'herald_recoveries_total',
    help: 'Subscribes with since, by result: complete (recovered:true) or incomplete (recovered:false, the client reloads)',
    labelNames: ['result'],
    registers,
    collect() {
      const s = stats();
      this.reset();
      this.inc({ result: 'complete' }, s.recoveriesComplete);
      this.inc({ result: 'incomplete' }, s.recoveriesIncomplete);
    },
  });
  counter('herald_auth_failures_total', 'Sessions whose credentials were refused', (s) => s.authFailures);
  new Counter({
    name: 'herald_disconnects_total',
    help: 'Closed sessions by close code (1001 shutdown, 4001 unauthorized, 4008 slow consumer, 4029 rate limited, 4400 protocol violation, 1000/1005/1006 client left)',
    labelNames: ['code'],
    registers,
    collect() {
      this.reset();
      for (const [code, n] of Object.entries(stats().disconnectsByCode)) this.inc({ code }, n);
    },
  });

  if (hasClusterStats(adapter)) addClusterMetrics(registry, adapter);
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  return registry;
}

function addClusterMetrics(registry: Registry, adapter: ClusterStatsSource): void {
  const registers = [registry];
  type Stats = ReturnType<ClusterStatsSource['stats']>;
  const counter = (name: string, help: string, read: (s: Stats) => number): void => {
    new Counter({ name, help, registers, collect() { this.reset(); this.inc(read(adapter.stats())); } });
  };
  new Gauge({ name: 'herald_nats_connected', help: '1 while the NATS connection is up', registers, collect() { this.set(adapter.stats().connected ? 1 : 0); } });
  if (adapter.rtt) {
    const rtt = adapter.rtt.bind(adapter);
    new Gauge({
      name: 'herald_nats_rtt_seconds',
      help: 'Round trip to the NATS server measured at scrape time (NaN while disconnected or over 1 s)',
      registers,
      async collect() {
        const ms = await rtt(1000);
        this.set(ms === undefined ? Number.NaN : ms / 1000);
      },
    });
  }
  counter('herald_nats_lost_publications_total', 'Publications refused (unavailable) because NATS stayed unreachable past the outbox bound: delivered nowhere', (s) => s.lostPublications);
  counter('herald_nats_unstored_publications_total', 'Publications JetStream did not confirm in time: refused (unavailable), not sent to other nodes', (s) => s.unstoredPublications);
  counter('herald_nats_disconnects_total', 'NATS connection losses', (s) => s.disconnects);
  counter('herald_nats_reconnects_total', 'NATS reconnections', (s) => s.reconnects);
  counter('herald_nats_received_total', 'Live messages received from other nodes', (s) => s.received);
  counter('herald_nats_duplicates_total', 'Live messages from other nodes dropped as duplicate copies', (s) => s.duplicates);
}
