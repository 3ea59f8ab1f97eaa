/**
 * One socket.io client as a core Connection. A turn's frames go to engine.io as one packet carrying a
 * prebuilt WebSocket frame (`wsPreEncodedFrame`, the hook socket.io's own broadcast uses), so a
 * WebSocket client costs one socket write per turn; long-polling clients get the packet texts.
 */
import type { Socket } from 'socket.io';
import { type Chunk, CloseCodes, type Connection, RECONNECT_CLOSE_CODES } from '../../core/plugin.js';
import { eventFrame, packetOfFrame } from './packet.js';

/** What Herald uses of engine.io's Socket and transports (partly untyped internals, pinned by tests). */
interface EngineTransport {
  readonly name: string;
  readonly perMessageDeflate?: unknown;
  readonly socket?: { readonly bufferedAmount?: number; readonly _sender?: { sendFrame?: unknown }; terminate?(): void };
}
interface EngineSocket {
  readonly readyState: string;
  readonly transport: EngineTransport;
  write(data: string, options?: Record<string, unknown>): unknown;
  close(discard?: boolean): unknown;
  on(event: 'flush', listener: () => void): unknown;
}

export class SocketIoConnection implements Connection {
  private readonly socket: Socket;
  private readonly conn: EngineSocket;
  private readonly namespace: string;
  /** True when Herald owns the engine.io server, so closing a whole connection cannot hurt the application's namespaces. */
  private readonly ownsEngine: boolean;
  private readonly closeTimeout: number;
  /** Bytes given to engine.io that it has not yet passed to its transport. */
  private pending = 0;

  constructor(socket: Socket, namespace: string, ownsEngine: boolean, closeTimeout: number) {
    this.socket = socket;
    this.conn = socket.conn as unknown as EngineSocket;
    this.namespace = namespace;
    this.ownsEngine = ownsEngine;
    this.closeTimeout = closeTimeout;
    this.conn.on('flush', () => { this.pending = 0; });
  }

  write(chunks: Chunk[]): void {
    if (this.socket.disconnected || this.conn.readyState !== 'open') return;
    this.send(chunks as Buffer[], 0, chunks.length);
  }

  private send(frames: Buffer[], from: number, to: number): void {
    if (from >= to) return;
    const t = this.conn.transport;
    if (t.name === 'websocket' && !t.perMessageDeflate && typeof t.socket?._sender?.sendFrame === 'function') {
      // One engine.io packet whose prebuilt frame is all of this turn's frames back to back.
      const bytes = to - from === 1 ? frames[from]! : Buffer.concat(frames.slice(from, to));
      this.pending += bytes.length;
      this.conn.write('', { wsPreEncodedFrame: [bytes] });
      return;
    }
    for (let i = from; i < to; i++) {
      this.pending += frames[i]!.length;
      this.conn.write(packetOfFrame(frames[i]!));
    }
  }

  /**
   * socket.io has no close codes: the client first gets `herald:close {code, reason, reconnect}`.
   * Then codes that mean "come back" close the engine.io connection (socket.io-client reconnects by
   * itself) when Herald owns the engine; the others, or any code on an application's shared server,
   * disconnect the namespace only ('io server disconnect': socket.io-client stays down). A slow
   * consumer's connection is dropped whole, discarding what it has not read.
   */
  close(code: number, reason: string): void {
    if (this.socket.disconnected) return;
    const reconnect = RECONNECT_CLOSE_CODES.has(code);
    this.send([eventFrame(this.namespace, 'herald:close', { code, reason, reconnect })], 0, 1);
    if (code === CloseCodes.slowConsumer) {
      this.conn.close(true);
      // ws waits for the peer's close frame, which a stalled reader never sends.
      const t = this.conn.transport;
      setTimeout(() => t.socket?.terminate?.(), this.closeTimeout).unref();
    } else if (reconnect && this.ownsEngine) {
      this.conn.close();
    } else {
      this.socket.disconnect();
    }
  }

  get bufferedAmount(): number {
    const t = this.conn.transport;
    return this.pending + (t.name === 'websocket' ? t.socket?.bufferedAmount ?? 0 : 0);
  }
}
