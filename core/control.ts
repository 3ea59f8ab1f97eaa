/**
 * Back-end control (docs/architecture.md, "Control"): what application code does to users and
 * connections across the cluster, like Socket.IO's disconnectSockets/socketsJoin/socketsLeave and
 * Centrifugo's server API. Every command goes to every node through the adapter (gatherControl);
 * each node runs it on its own sessions (runLocal) and answers with what it did.
 */
import type {
  BroadcastResult, ControlCommand, ControlResult, DisconnectOptions, NodeControlReply, PresenceStats, PublishOptions, Target, TopicCount, TopicsResult,
} from './contracts.js';
import { CloseCodes, HeraldError } from './errors.js';
import type { Position, PresenceEntry } from './messages.js';
import { parsePosition } from './protocol.js';
import type { Session } from './session.js';
import { assertPattern, assertTopic, covers, isPattern } from './topic.js';

/** Close codes broker.disconnect() may use. */
export const DISCONNECT_CODES: ReadonlySet<number> = new Set([CloseCodes.disconnected, CloseCodes.disconnectedForGood]);
/** Longest idempotency key, user or client id a command may carry. */
export const MAX_ID_LENGTH = 256;
/** Patterns topics() lists by default, and at most (each node answers at most this many: one NATS message). */
export const DEFAULT_TOPICS_LIMIT = 1000;
export const MAX_TOPICS_LIMIT = 10_000;

export function parseTopicsLimit(value: unknown): number {
  if (value === undefined) return DEFAULT_TOPICS_LIMIT;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_TOPICS_LIMIT) {
    throw new HeraldError('bad_request', `limit must be an integer of 1..${MAX_TOPICS_LIMIT}`);
  }
  return value;
}

const busiestFirst = (a: TopicCount, b: TopicCount): number => b.subscribers - a.subscribers || (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0);

/** Most topics one broadcast may name. */
export const MAX_BROADCAST_TOPICS = 1000;

function id(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw new HeraldError('bad_request', `${field} must be a string of 1..${MAX_ID_LENGTH} characters`);
  }
  return value;
}

/** Validates `{user}` or `{client}` (exactly one). */
export function parseTarget(value: unknown): Target {
  if (value === null || typeof value !== 'object') throw new HeraldError('bad_request', 'give exactly one of user or client');
  const { user, client } = value as { user?: unknown; client?: unknown };
  if ((user === undefined) === (client === undefined)) throw new HeraldError('bad_request', 'give exactly one of user or client');
  return user !== undefined ? { user: id(user, 'user') } : { client: id(client, 'client') };
}

export function parseIdempotencyKey(value: unknown): string | undefined {
  return value === undefined ? undefined : id(value, 'idempotencyKey');
}

export function parseDisconnect(options: DisconnectOptions = {}): { code: number; reason: string } {
  const code = options.code ?? CloseCodes.disconnected;
  if (!DISCONNECT_CODES.has(code)) throw new HeraldError('bad_request', `code must be ${[...DISCONNECT_CODES].join(' or ')}`);
  const reason = options.reason ?? 'disconnected by the server';
  // A WebSocket close reason holds at most 123 bytes.
  if (typeof reason !== 'string' || Buffer.byteLength(reason) > 123) throw new HeraldError('bad_request', 'reason must be a string of at most 123 bytes');
  return { code, reason };
}

export function parseTopics(value: unknown): string[] {
  if (!Array.isArray(value) || value.length === 0) throw new HeraldError('bad_request', 'topics must be a non-empty array');
  if (value.length > MAX_BROADCAST_TOPICS) throw new HeraldError('limit_exceeded', `at most ${MAX_BROADCAST_TOPICS} topics per broadcast`);
  const topics = value.map((t) => assertTopic(t));
  if (new Set(topics).size !== topics.length) throw new HeraldError('bad_request', 'topics must be distinct');
  return topics;
}

/** What runLocal needs from its broker. */
export interface LocalNode {
  readonly nodeId: string;
  readonly version: string;
  readonly startedAt: number;
  readonly sessions: ReadonlySet<Session>;
}

const targets = (session: Session, target: Target): boolean => 'client' in target
  ? session.id === target.client
  : session.principal?.user === target.user;

/** Runs a control command on this node's sessions (every node does, through the adapter). */
export function runLocal(node: LocalNode, command: ControlCommand): NodeControlReply {
  switch (command.op) {
    case 'disconnect':
    case 'unsubscribe':
    case 'subscribe': {
      let connections = 0;
      for (const session of [...node.sessions]) {
        if (session.isClosed || !targets(session, command.target)) continue;
        connections++;
        if (command.op === 'disconnect') session.close(command.code, command.reason);
        else if (command.op === 'unsubscribe') session.drop(command.topic, 'server');
        else session.serverSubscribe(command.topic, command.since);
      }
      return { node: node.nodeId, connections };
    }
    case 'topics': {
      const counts = new Map<string, number>();
      for (const session of node.sessions) {
        for (const pattern of session.subscriptions.keys()) {
          if (command.pattern === undefined || covers(command.pattern, pattern)) counts.set(pattern, (counts.get(pattern) ?? 0) + 1);
        }
      }
      const all = [...counts].map(([topic, subscribers]) => ({ topic, subscribers }));
      if (all.length <= command.limit) return { node: node.nodeId, topics: all };
      return { node: node.nodeId, topics: all.sort(busiestFirst).slice(0, command.limit), truncated: true };
    }
    case 'info': {
      const byTransport: Record<string, number> = {};
      let subscriptions = 0;
      const patterns = new Set<string>();
      for (const s of node.sessions) {
        byTransport[s.transport] = (byTransport[s.transport] ?? 0) + 1;
        subscriptions += s.subscriptions.size;
        for (const p of s.subscriptions.keys()) patterns.add(p);
      }
      return {
        node: node.nodeId,
        info: {
          id: node.nodeId, version: node.version, uptime: Date.now() - node.startedAt, connections: node.sessions.size,
          connectionsByTransport: byTransport, subscriptions, topics: patterns.size,
        },
      };
    }
  }
}

/** Reads a command that came from another node (or over the wire): never trusted blindly. */
export function parseControlCommand(raw: unknown): ControlCommand {
  if (raw === null || typeof raw !== 'object') throw new HeraldError('bad_request', 'a control command must be an object');
  const c = raw as Record<string, unknown>;
  switch (c.op) {
    case 'disconnect':
      return { op: 'disconnect', target: parseTarget(c.target), ...parseDisconnect({ code: c.code as number, reason: c.reason as string }) };
    case 'unsubscribe':
      return { op: 'unsubscribe', target: parseTarget(c.target), topic: assertPattern(c.topic) };
    case 'subscribe':
      return c.since === undefined
        ? { op: 'subscribe', target: parseTarget(c.target), topic: assertPattern(c.topic) }
        : { op: 'subscribe', target: parseTarget(c.target), topic: assertPattern(c.topic), since: parsePosition(c.since, 'since') };
    case 'topics':
      if (c.pattern !== undefined && !isPattern(c.pattern)) throw new HeraldError('invalid_topic', 'pattern is not a valid topic pattern');
      return c.pattern === undefined
        ? { op: 'topics', limit: parseTopicsLimit(c.limit) }
        : { op: 'topics', pattern: c.pattern as string, limit: parseTopicsLimit(c.limit) };
    case 'info':
      return { op: 'info' };
    default:
      throw new HeraldError('bad_request', 'unknown control op');
  }
}

/** Sums what every node answered to disconnect / unsubscribe / subscribe. */
export function reached(replies: readonly NodeControlReply[]): ControlResult {
  const nodes: Record<string, number> = {};
  let connections = 0;
  for (const r of replies) {
    nodes[r.node] = r.connections ?? 0;
    connections += r.connections ?? 0;
  }
  return { connections, nodes };
}

/** Merges every node's topic counts. */
export function mergeTopics(replies: readonly NodeControlReply[], limit: number): TopicsResult {
  const merged = new Map<string, { topic: string; subscribers: number; nodes: Record<string, number> }>();
  for (const r of replies) {
    for (const t of r.topics ?? []) {
      let m = merged.get(t.topic);
      if (m === undefined) merged.set(t.topic, (m = { topic: t.topic, subscribers: 0, nodes: {} }));
      m.subscribers += t.subscribers;
      m.nodes[r.node] = t.subscribers;
    }
  }
  let topics = [...merged.values()];
  let truncated = replies.some((r) => r.truncated === true);
  if (topics.length > limit) {
    topics = topics.sort(busiestFirst).slice(0, limit);
    truncated = true;
  }
  return { topics: topics.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0)), truncated };
}

export function presenceStatsOf(entries: readonly PresenceEntry[]): PresenceStats {
  const users = new Set<string>();
  for (const e of entries) if (e.user !== null) users.add(e.user);
  return { clients: entries.length, users: users.size };
}

/**
 * The same data to many topics, each with its own position (and, with a key, its own derived key,
 * so a retried broadcast is delivered once per topic).
 */
export async function broadcastVia(
  publish: (topic: string, data: unknown, options: PublishOptions) => Promise<{ offset?: number; epoch?: string }>,
  topics: readonly string[], data: unknown, options: PublishOptions,
): Promise<BroadcastResult> {
  const key = options.idempotencyKey;
  const results = await Promise.all(topics.map(async (topic) => ({
    topic, ...(await publish(topic, data, key === undefined ? {} : { idempotencyKey: `${key}\u0000${topic}` })),
  })));
  return { results };
}
