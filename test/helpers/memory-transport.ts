/**
 * An in-memory transport for testing a Session without a network: a real Transport the broker
 * attaches like any other, whose connections record what the session writes (JSON, one message per
 * chunk) and which callbacks ran, in order, so a test can read the outbound stream as a client would.
 */
import type { Connection, Handshake, ReplyHandler, Transport, TransportHost } from '../../core/contracts.js';
import type { Reply, ServerMessage } from '../../core/protocol.js';
import type { Chunk } from '../../core/publication.js';
import type { Session } from '../../core/session.js';

/** One entry of a connection's outbound stream: a written message, a reply callback's call, or a write() call boundary. */
export type StreamEntry =
  | { kind: 'message'; message: ServerMessage }
  | { kind: 'reply'; reply: Reply }
  | { kind: 'write'; chunks: number };

export class MemoryConnection implements Connection {
  readonly stream: StreamEntry[] = [];
  closed: { code: number; reason: string } | undefined;
  /** What the "socket" holds unsent; a test raises it to act as a slow reader. */
  bufferedAmount = 0;
  session!: Session;

  write(chunks: Chunk[]): void {
    this.stream.push({ kind: 'write', chunks: chunks.length });
    for (const c of chunks) this.stream.push({ kind: 'message', message: JSON.parse(c.toString()) as ServerMessage });
  }

  close(code: number, reason: string): void {
    this.closed ??= { code, reason };
  }

  /** The messages written so far, in order. */
  messages(): ServerMessage[] {
    return this.stream.flatMap((e) => (e.kind === 'message' ? [e.message] : []));
  }

  /** A reply callback that records its reply in the stream and queues `answer(reply)` when given. */
  replyTo(answer?: (reply: Reply) => Chunk): ReplyHandler {
    return (reply) => {
      this.stream.push({ kind: 'reply', reply });
      return answer?.(reply);
    };
  }
}

export class MemoryTransport implements Transport {
  readonly name = 'memory';
  private host: TransportHost | undefined;

  attach(host: TransportHost): void {
    this.host = host;
  }

  /** Opens a session as a connecting client would (anonymous unless the handshake carries a token). */
  connect(handshake: Partial<Handshake> = {}): MemoryConnection {
    if (this.host === undefined) throw new Error('the memory transport is not attached to a broker');
    const connection = new MemoryConnection();
    connection.session = this.host.open(
      connection,
      { transport: 'memory', remoteAddress: '127.0.0.1', headers: {}, query: new URLSearchParams(), ...handshake },
      { key: 'memory.json', encode: (message) => JSON.stringify(message) },
    ) as Session;
    return connection;
  }

  async close(): Promise<void> {}
}
