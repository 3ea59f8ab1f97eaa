/**
 * A session's outbound side, as ws's Sender is a WebSocket's: what goes to one client is encoded
 * (a publication once per encoder key, its bytes shared), queued, and written to the connection in
 * one call per event-loop turn (TurnFlush). Over limits.outboundBytes, counting what the socket
 * still holds, the client is a slow consumer: the queue is dropped and the session closes it.
 */
import type { Connection, Encoder } from './contracts.js';
import type { ServerMessage } from './messages.js';
import type { Chunk, Publication } from './publication.js';

/** The empty queue; enqueue() replaces it rather than pushing (frozen: a push would throw). */
const NO_CHUNKS = Object.freeze([]) as unknown as Chunk[];

/** What an outbound queue reports to its session. */
export interface OutboundOwner {
  /** Over the byte cap: `dropped` queued messages were discarded; the session closes the connection (4008). */
  overflowed(dropped: number): void;
  /** The encoder threw on `pub`: it is skipped for this client alone. */
  unencodable(pub: Publication, err: unknown): void;
}

/**
 * The queues with something to write this turn, written one after the other once the turn ends
 * (setImmediate): however many messages a client gets in a turn, its socket sees one write.
 */
export class TurnFlush {
  private list: Outbound[] = [];
  private armed = false;

  /** Puts a queue on this turn's list, once however often it is called. */
  add(outbound: Outbound): void {
    if (outbound.listed) return;
    outbound.listed = true;
    this.list.push(outbound);
    if (!this.armed) {
      this.armed = true;
      setImmediate(this.flushAll);
    }
  }

  private readonly flushAll = (): void => {
    this.armed = false;
    const list = this.list;
    this.list = [];
    for (let i = 0; i < list.length; i++) {
      const outbound = list[i]!;
      outbound.listed = false;
      outbound.write();
    }
  };
}

export class Outbound {
  /** On the TurnFlush list now; only TurnFlush sets and clears it. */
  listed = false;
  private queue: Chunk[] = NO_CHUNKS;
  private queuedBytes = 0;
  private readonly connection: Connection;
  private readonly encoder: Encoder;
  private readonly turn: TurnFlush;
  private readonly maxBytes: number;
  private readonly owner: OutboundOwner;

  constructor(connection: Connection, encoder: Encoder, turn: TurnFlush, maxBytes: number, owner: OutboundOwner) {
    this.connection = connection;
    this.encoder = encoder;
    this.turn = turn;
    this.maxBytes = maxBytes;
    this.owner = owner;
  }

  /** A protocol message (reply, push, error) in this connection's wire form. */
  encode(message: ServerMessage): Chunk {
    return this.encoder.encode(message);
  }

  /**
   * This connection's bytes for a publication: shared per encoder key unless the encoder makes its
   * own. Undefined when this encoder cannot encode it (reported to the owner): that publication is
   * skipped for this connection only, never for the others.
   */
  publication(pub: Publication): Chunk | undefined {
    const encoder = this.encoder;
    try {
      return encoder.publication === undefined ? pub.encodedFor(encoder) : encoder.publication(pub);
    } catch (err) {
      this.owner.unencodable(pub, err);
      return undefined;
    }
  }

  /** Queues a chunk for this turn's write; false when it overflowed the byte cap (the queue is dropped). */
  enqueue(chunk: Chunk): boolean {
    // A fresh exact-size array per turn instead of push() onto an empty one (which allocates room
    // for 17): fan-out at one message per turn makes one of these per delivery (bench: fanout).
    if (this.queue.length === 0) this.queue = [chunk];
    else this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes + this.connection.bufferedAmount > this.maxBytes) {
      const dropped = this.queue.length;
      this.clear();
      this.owner.overflowed(dropped);
      return false;
    }
    if (!this.listed) this.turn.add(this);
    return true;
  }

  /** Would these chunks stay under the byte cap, with what is queued and in the socket? */
  fits(chunks: readonly Chunk[]): boolean {
    let bytes = this.queuedBytes + this.connection.bufferedAmount;
    for (const c of chunks) bytes += c.length;
    return bytes <= this.maxBytes;
  }

  /** Writes everything queued in one call to the connection (TurnFlush at the end of a turn, or the session before a reply callback or a close). */
  write(): void {
    if (this.queue.length === 0) return;
    const chunks = this.queue;
    this.queue = NO_CHUNKS;
    this.queuedBytes = 0;
    this.connection.write(chunks);
  }

  /** Drops what is queued (the session is gone). */
  clear(): void {
    this.queue = NO_CHUNKS;
    this.queuedBytes = 0;
  }
}
