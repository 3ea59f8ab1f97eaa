/**
 * Protocol v1 (docs/protocol.md): the commands a client sends, the messages the server sends, and the
 * validation that turns an untrusted decoded value into a typed command. Transport-neutral: ws
 * frames, socket.io events and the HTTP API all end up here.
 */
import { HeraldError } from './errors.js';
import { assertPattern, assertTopic } from './topic.js';
import type { Command, Position, UnsubReason } from './messages.js';

export type { Command, MsgPush, Op, Position, PresenceEntry, Reply, ServerMessage, UnsubReason } from './messages.js';

/**
 * Why the server drops a subscription (the `reason` of an `unsub` push); one registry for every
 * transport, pinned by test/core/protocol.test.ts against docs/protocol.md.
 */
export const UnsubReasons = {
  gap: 'Publications on it may have been missed (the cluster link broke and they could not be repaired from history): subscribe again with `since`; `recovered` says whether anything is missing.',
  forbidden: 'The principal may no longer subscribe to it (its credentials changed): do not subscribe again with the same credentials.',
  server: 'The application took the connection out of it (broker.unsubscribe, POST /api/unsubscribe): do not subscribe again on your own.',
} as const satisfies Record<UnsubReason, string>;

const OPS = new Set<string>(['auth', 'sub', 'unsub', 'pub', 'presence', 'history', 'ping']);

/** Largest `limit` a history request may ask for; bigger asks are clamped by the history store. */
export const MAX_HISTORY_LIMIT = 10_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * Reads the reply id of a raw command, if it has a valid one. Separate from parseCommand so that a
 * command failing validation still gets its error as a reply to its id.
 */
export function commandId(raw: unknown): number | undefined {
  if (!isRecord(raw)) return undefined;
  const id = raw.id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : undefined;
}

/** Validates an untrusted decoded value into a Command, or throws a HeraldError (bad_request / invalid_topic). */
export function parseCommand(raw: unknown): Command {
  if (!isRecord(raw)) throw new HeraldError('bad_request', 'a command must be an object');
  const { op } = raw;
  if (typeof op !== 'string' || !OPS.has(op)) throw new HeraldError('bad_request', `unknown op ${JSON.stringify(op)}`.slice(0, 100));
  let id: number | undefined;
  if (raw.id !== undefined) {
    id = commandId(raw);
    if (id === undefined) throw new HeraldError('bad_request', 'id must be a positive integer');
  }
  switch (op) {
    case 'auth': {
      if (typeof raw.token !== 'string' || raw.token.length === 0) throw new HeraldError('bad_request', 'auth needs a token string');
      return { op, id, token: raw.token };
    }
    case 'sub': {
      const topic = assertPattern(requireString(raw, 'topic'));
      const since = raw.since === undefined ? undefined : parsePosition(raw.since, 'since');
      if (raw.presence !== undefined && typeof raw.presence !== 'boolean') throw new HeraldError('bad_request', 'presence must be a boolean');
      return { op, id, topic, since, presence: raw.presence as boolean | undefined };
    }
    case 'unsub':
      return { op, id, topic: assertPattern(requireString(raw, 'topic')) };
    case 'pub': {
      const topic = assertTopic(requireString(raw, 'topic'));
      if (!('data' in raw)) throw new HeraldError('bad_request', 'pub needs data');
      // msgpack can carry `undefined`; JSON cannot, so the broker stores null.
      return { op, id, topic, data: raw.data === undefined ? null : raw.data };
    }
    case 'presence':
      return { op, id, topic: assertTopic(requireString(raw, 'topic')) };
    case 'history': {
      const topic = assertTopic(requireString(raw, 'topic'));
      let limit: number | undefined;
      if (raw.limit !== undefined) {
        if (typeof raw.limit !== 'number' || !Number.isSafeInteger(raw.limit) || raw.limit < 0) {
          throw new HeraldError('bad_request', 'limit must be a non-negative integer');
        }
        limit = Math.min(raw.limit, MAX_HISTORY_LIMIT);
      }
      const since = raw.since === undefined ? undefined : parsePosition(raw.since, 'since');
      return { op, id, topic, limit, since };
    }
    default:
      return { op: 'ping', id };
  }
}

/**
 * Refuses `data` nested deeper than `maxDepth` arrays/objects (limits.maxDepth). JSON.parse and
 * msgpack accept thousands of levels, but encoders recurse and overflow the stack near 2,000: such a
 * publication would fail for every subscriber. Walks without recursion and stops at the first too-deep value.
 */
export function assertDepth(data: unknown, maxDepth: number): void {
  if (data === null || typeof data !== 'object') return;
  const values: unknown[] = [data];
  const depths: number[] = [1];
  while (values.length > 0) {
    const value = values.pop() as object;
    const depth = depths.pop()!;
    if (depth > maxDepth) throw new HeraldError('bad_request', `data is nested deeper than ${maxDepth} levels`);
    if (ArrayBuffer.isView(value)) continue;
    const children = Array.isArray(value) ? value : Object.values(value);
    for (let i = 0; i < children.length; i++) {
      const child: unknown = children[i];
      if (child !== null && typeof child === 'object') {
        values.push(child);
        depths.push(depth + 1);
      }
    }
  }
}

function requireString(raw: Record<string, unknown>, field: string): string {
  const value = raw[field];
  if (value === undefined) throw new HeraldError('bad_request', `missing field ${field}`);
  if (typeof value !== 'string') throw new HeraldError('invalid_topic', `${field} must be a string`);
  return value;
}

export function parsePosition(value: unknown, field: string): Position {
  if (!isRecord(value)) throw new HeraldError('bad_request', `${field} must be {offset, epoch}`);
  const { offset, epoch } = value;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    throw new HeraldError('bad_request', `${field}.offset must be a non-negative integer`);
  }
  if (typeof epoch !== 'string' || epoch.length === 0 || epoch.length > 64) {
    throw new HeraldError('bad_request', `${field}.epoch must be a string of 1..64 characters`);
  }
  return { offset, epoch };
}
