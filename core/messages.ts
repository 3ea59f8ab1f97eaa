/**
 * The wire messages of protocol v1 (docs/protocol.md) as types: what a client sends and what the
 * server sends, and the subprotocol names that select a codec. A leaf (it imports nothing) so the contracts and the browser client can share it;
 * the validation that turns untrusted input into these lives in protocol.ts.
 */
export interface Position {
  offset: number;
  epoch: string;
}

export type Command =
  | { op: 'auth'; id?: number; token: string }
  | { op: 'sub'; id?: number; topic: string; since?: Position; presence?: boolean }
  | { op: 'unsub'; id?: number; topic: string }
  | { op: 'pub'; id?: number; topic: string; data: unknown }
  | { op: 'presence'; id?: number; topic: string }
  | { op: 'history'; id?: number; topic: string; limit?: number; since?: Position }
  | { op: 'ping'; id?: number };

export type Op = Command['op'];

/** The push a subscriber receives for a publication. */
export interface MsgPush {
  op: 'msg';
  topic: string;
  data: unknown;
  offset?: number;
  epoch?: string;
}

export interface PresenceEntry {
  client: string;
  user: string | null;
  info?: unknown;
}

/** A command's reply as a transport's reply callback receives it (contracts.ts ReplyHandler): the wire reply without its id. */
export type Reply =
  | ({ ok: true } & Record<string, unknown>)
  | { ok: false; error: { code: string; message: string } };

export type ServerMessage =
  | ({ id: number; ok: true } & Record<string, unknown>)
  | { id: number; ok: false; error: { code: string; message: string } }
  | MsgPush
  | ({ op: 'join' | 'leave'; topic: string } & PresenceEntry)
  /** The server dropped this subscription, for one of UnsubReasons. The connection stays. */
  | { op: 'unsub'; topic: string; reason: UnsubReason }
  /**
   * The application subscribed this connection (broker.subscribe): its publications follow, like
   * those of a subscription the client made; `offset`/`epoch` as in a `sub` reply.
   */
  | { op: 'sub'; topic: string; reason: 'server'; offset?: number; epoch?: string; recovered?: boolean }
  | { op: 'error'; error: { code: string; message: string } };

/** What a publish answers, on the wire (a `pub` reply's fields) and from broker.publish. */
export interface PublishResult {
  /** Present when the topic keeps history. */
  offset?: number;
  epoch?: string;
}

/** Why the server drops a subscription (the `reason` of an `unsub` push); protocol.ts UnsubReasons describes each. */
export type UnsubReason = 'gap' | 'forbidden' | 'server';

/** WebSocket subprotocol names of protocol v1, shared by the ws transport and the client (this file imports nothing, so the browser bundle can take it). */
export const SUBPROTOCOLS = { json: 'herald.v1.json', msgpack: 'herald.v1.msgpack' } as const;

// Plain maps, no records or structure sharing: every peer (browser msgpack libraries, other
// languages) must read our frames without msgpackr-specific extensions. Shared by core/codec.ts, the
// stores that decode with their own unpacker (adapters/lmdb, nats) and the browser client.
export const msgpackOptions = {
  useRecords: false,
  mapsAsObjects: true,
  // 64-bit integers a JS number holds exactly decode as numbers, larger ones as bigint (which JSON
  // subscribers then receive as decimal strings): never a silently rounded number.
  int64AsType: 'auto' as 'bigint', // 'auto' is in msgpackr's runtime (unpack.js), not its typings
  largeBigIntToFloat: true,
  moreTypes: false,
} as const;
