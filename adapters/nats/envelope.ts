/**
 * Node-to-node messages, encoded with msgpackr. Plain msgpack maps (no records, no structure
 * sharing) so that nodes of different versions, or tools reading the stream, decode them without
 * shared msgpackr state. Field names are one letter: they travel with every publication.
 */
import { Packr } from 'msgpackr';
import { msgpackOptions, type PresenceEntry } from '../../core/plugin.js';

// The payload codec's options: the same plain msgpack on the wire between nodes.
const packr = new Packr(msgpackOptions);

export const pack = (value: unknown): Uint8Array => packr.pack(value);
export const unpack = <T>(bytes: Uint8Array): T => packr.unpack(bytes) as T;

/** A live publication on `<prefix>.t.<topic>` (the topic is the subject). */
export interface LiveEnvelope {
  /** Origin node id: a node drops its own echo with it. */
  o: string;
  /** Origin incarnation: a random token per adapter start, so counters of a restarted node id start fresh. */
  i: string;
  /** Per-incarnation counter, increasing in send order: several matching subscriptions deliver one message once. */
  n: number;
  d: unknown;
  /** Stream sequence (the offset) when the topic keeps history and JetStream stored it. */
  s?: number;
  /** Epoch of `s`. */
  e?: string;
}

/** What the stream stores on `<prefix>.h.<topic>`. */
export interface StoredEnvelope {
  o: string;
  d: unknown;
}

/** Presence traffic on `<prefix>._p.ev`, in one ordered channel per node. */
export type PresenceMessage =
  /** A client of node `n` joined / left `t`; `v` is node `n`'s presence version after the change. */
  | { k: 'j'; n: string; v: number; t: string; c: PresenceEntry }
  | { k: 'l'; n: string; v: number; t: string; c: PresenceEntry }
  /** Heartbeat: node `n` is alive and its presence is at version `v`. */
  | { k: 'hb'; n: string; v: number }
  /** Node `n` is leaving: drop its clients now rather than after the heartbeat timeout. */
  | { k: 'bye'; n: string };

/** A node's whole presence: its answer to hello and snapshot requests. */
export interface PresenceSnapshot {
  n: string;
  v: number;
  /** [topic, entry] pairs. */
  e: [string, PresenceEntry][];
}
