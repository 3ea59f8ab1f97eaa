/** The broker as application code and transports see it. */
import type { HistoryQuery, HistoryResult } from './contracts.js';
import type { Position, PresenceEntry } from './protocol.js';

export interface PublishResult {
  /** Present when the topic keeps history. */
  offset?: number;
  epoch?: string;
}

export interface BrokerStats {
  connections: number;
  connectionsByTransport: Record<string, number>;
  /** Distinct patterns with a local subscriber. */
  topics: number;
  subscriptions: number;
  publicationsIn: number;
  deliveries: number;
  slowConsumerCloses: number;
}

export interface BrokerApi {
  readonly nodeId: string;
  /** Publishes from application code (no authorization). Throws invalid_topic for a bad topic. */
  publish(topic: string, data: unknown): Promise<PublishResult>;
  history(topic: string, query?: HistoryQuery): Promise<HistoryResult>;
  presence(topic: string): Promise<PresenceEntry[]>;
  /** The topic's position now. */
  position(topic: string): Promise<Position | undefined>;
  stats(): BrokerStats;
}
