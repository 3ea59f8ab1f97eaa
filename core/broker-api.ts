/** The broker as application code and transports see it. */
import type { HistoryQuery, HistoryResult, Principal } from './contracts.js';
import type {
  BroadcastResult, ControlResult, DisconnectOptions, NodeInfo, PresenceStats, PublishOptions, ServerSubscribeOptions, Target, TopicsResult,
} from './control.js';
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
  /** Publications accepted on this node (from its clients or application code). */
  publicationsIn: number;
  /** Publications accepted by other nodes and handed to this one by the cluster adapter. */
  publicationsFromCluster: number;
  /** Publications queued to sessions (one per matching session). */
  deliveries: number;
  slowConsumerCloses: number;
  /** Sessions closed with 4008 because the cluster link broke and they may have missed publications. */
  /** Subscriptions dropped with an `unsub` push (reason `gap`) because publications on them may have been missed. */
  gapUnsubscribes: number;
  /** Publications a subscriber's encoder could not encode: skipped for that subscriber alone. */
  encodeFailures: number;
  /** Messages discarded because their session was closed as a slow consumer (queued or held while recovering). */
  droppedMessages: number;
  /** Subscribes with `since` answered recovered:true / recovered:false. */
  recoveriesComplete: number;
  recoveriesIncomplete: number;
  /** Sessions whose credentials were refused (authenticate hook threw or returned null to `auth`). */
  authFailures: number;
  /** Closed sessions by close code (1001, 4001, 4008...; 1000/1005/1006 when the client went away). */
  disconnectsByCode: Record<string, number>;
}

export interface BrokerApi {
  readonly nodeId: string;
  /** Publishes from application code (no authorization). Throws invalid_topic for a bad topic. */
  publish(topic: string, data: unknown, options?: PublishOptions): Promise<PublishResult>;
  /** The rest acts on every node of the cluster (core/control.ts). */
  broadcast(topics: readonly string[], data: unknown, options?: PublishOptions): Promise<BroadcastResult>;
  disconnect(target: Target, options?: DisconnectOptions): Promise<ControlResult>;
  subscribe(target: Target, pattern: string, options?: ServerSubscribeOptions): Promise<ControlResult>;
  unsubscribe(target: Target, pattern: string): Promise<ControlResult>;
  topics(options?: { pattern?: string; limit?: number }): Promise<TopicsResult>;
  info(): Promise<{ nodes: NodeInfo[] }>;
  presenceStats(topic: string): Promise<PresenceStats>;
  history(topic: string, query?: HistoryQuery): Promise<HistoryResult>;
  presence(topic: string): Promise<PresenceEntry[]>;
  /** The topic's position now. */
  position(topic: string): Promise<Position | undefined>;
  stats(): BrokerStats;
  /**
   * Charges one command or request to its principal's rate (limits.principalRate), shared with that
   * principal's sessions; false when over it (answer `rate_limited`). `principal` undefined: anonymous.
   */
  chargeRate(principal: Principal | undefined, remoteAddress: string): boolean;
}
