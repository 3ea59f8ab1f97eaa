/**
 * One WebSocket to the broker speaking protocol v1 (docs/protocol.md): requests are matched to replies
 * by id and time out; everything else (publications, presence events, errors) goes to `onPush`.
 * A Connection never reconnects: the client makes a new one.
 */
import type { ServerMessage } from '../core/messages.js';
import type { ClientCodec } from './codec.js';
import { codecFor } from './codec.js';
import { HeraldClientError, type ClientErrorCode } from './errors.js';
import { OPEN, type WebSocketConstructor, type WebSocketLike } from './websocket.js';

/** A successful reply as the server sends it (`ok: true` plus op-specific fields): core's wire type. */
export type Reply = Extract<ServerMessage, { ok: true }>;
/** A server message without an id. */
export type Push = { op: string } & Record<string, unknown>;

interface Pending {
  readonly op: string;
  readonly resolve: (reply: Reply) => void;
  readonly reject: (err: HeraldClientError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export interface ConnectionHandlers {
  push(message: Push): void;
  /** Called once, when the socket closes or is abandoned. */
  close(code: number, reason: string): void;
  /** A frame that could not be decoded (a server bug or a proxy mangling frames). */
  error(err: HeraldClientError): void;
}

/** Local close codes (never sent by a server): why the client gave up on a socket. */
export const LocalCloseCodes = {
  /** The socket did not open within connectTimeout. */
  connectTimeout: 4900,
  /** No reply to a ping within pingTimeout: the server or the path to it is dead. */
  noPong: 4901,
  /** A command that changes server state (sub) timed out: its outcome is unknown, so start over. */
  commandTimeout: 4902,
  /** The client closed it. */
  clientClose: 1000,
} as const;

/** What the client needs of a connection, whatever carries it (WebSocket, or the SSE fallback). */
export interface Link {
  readonly transport: 'websocket' | 'sse';
  /** Date.now() of the last frame or event received. */
  readonly lastInbound: number;
  readonly isOpen: boolean;
  attach(handlers: ConnectionHandlers): void;
  request(command: { op: string } & Record<string, unknown>, timeoutMs: number): Promise<Reply>;
  close(code: number, reason: string): void;
  drop(code?: number, reason?: string): void;
}

export class Connection implements Link {
  readonly transport = 'websocket';
  /** The codec the server agreed to (its subprotocol answer). */
  codec: ClientCodec;
  /** Date.now() of the last frame received: what ping scheduling looks at. */
  lastInbound = Date.now();
  private readonly socket: WebSocketLike;
  private readonly pending = new Map<number, Pending>();
  private handlers: ConnectionHandlers | undefined;
  private nextId = 1;
  private closed = false;

  private constructor(socket: WebSocketLike, codec: ClientCodec) {
    this.socket = socket;
    this.codec = codec;
  }

  /** Opens a socket; rejects with a `transport` error when it closes or times out first. */
  static open(WebSocket: WebSocketConstructor, url: string, codec: ClientCodec, timeoutMs: number): Promise<Connection> {
    return new Promise((resolve, reject) => {
      let socket: WebSocketLike;
      try {
        socket = new WebSocket(url, [codec.subprotocol]);
      } catch (err) {
        reject(new HeraldClientError('transport', `cannot open ${url}: ${(err as Error).message}`));
        return;
      }
      socket.binaryType = 'arraybuffer';
      const connection = new Connection(socket, codec);
      const timer = setTimeout(() => {
        connection.drop();
        reject(new HeraldClientError('transport', `no connection to ${url} within ${timeoutMs} ms`, LocalCloseCodes.connectTimeout));
      }, timeoutMs);
      socket.onerror = () => undefined; // the close event that follows carries the code
      socket.onclose = (event) => {
        clearTimeout(timer);
        connection.closed = true;
        reject(new HeraldClientError('transport', `connection to ${url} failed (close ${event.code}${event.reason ? `: ${event.reason}` : ''})`, event.code));
      };
      socket.onopen = () => {
        clearTimeout(timer);
        // The server answers with the subprotocol it picked; none means JSON.
        connection.codec = codecFor(socket.protocol === codecFor('msgpack').subprotocol ? 'msgpack' : 'json');
        connection.lastInbound = Date.now();
        resolve(connection);
      };
    });
  }

  /** Starts delivering frames and the close to `handlers`. */
  attach(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
    const socket = this.socket;
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => this.finish(event.code, event.reason);
    if (this.closed) this.finish(1006, 'closed before attach');
  }

  get isOpen(): boolean {
    return !this.closed && this.socket.readyState === OPEN;
  }

  /** Sends a command with a fresh id and resolves with its reply (or rejects with the error it carries). */
  request(command: { op: string } & Record<string, unknown>, timeoutMs: number): Promise<Reply> {
    return new Promise((resolve, reject) => {
      if (!this.isOpen) {
        reject(new HeraldClientError('disconnected', `${command.op}: not connected`));
        return;
      }
      const id = this.nextId++;
      const timer = setTimeout(() => {
        if (this.pending.delete(id)) reject(new HeraldClientError('timeout', `${command.op} timed out: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { op: command.op, resolve, reject, timer });
      this.socket.send(this.codec.encode({ ...command, id }));
    });
  }

  /** Closes with a close handshake; the close handler runs at once, not when the server answers. */
  close(code: number, reason: string): void {
    if (this.closed) return;
    try {
      // Browsers only accept 1000 and 3000-4999 from scripts.
      this.socket.close(code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000, reason);
    } catch { /* already closing */ }
    this.finish(code, reason);
  }

  /** Gives up on a socket that may be dead: no close handshake to wait for. */
  drop(code: number = LocalCloseCodes.connectTimeout, reason = 'dropped'): void {
    if (this.closed) return;
    if (this.socket.terminate) this.socket.terminate();
    else try { this.socket.close(); } catch { /* closing */ }
    this.finish(code, reason);
  }

  private receive(data: unknown): void {
    this.lastInbound = Date.now();
    let message: Record<string, unknown>;
    try {
      message = this.codec.decode(data) as Record<string, unknown>;
    } catch (err) {
      this.handlers?.error(new HeraldClientError('bad_request', `undecodable frame from server: ${(err as Error).message}`));
      return;
    }
    if (message === null || typeof message !== 'object') return;
    const id = message.id;
    if (typeof id === 'number') {
      const pending = this.pending.get(id);
      if (pending === undefined) return; // timed out already
      this.pending.delete(id);
      clearTimeout(pending.timer);
      if (message.ok === true) pending.resolve(message as Reply);
      else {
        const error = message.error as { code?: string; message?: string } | undefined;
        pending.reject(new HeraldClientError((error?.code ?? 'internal') as ClientErrorCode, `${pending.op}: ${error?.message ?? 'failed'}`));
      }
      return;
    }
    if (typeof message.op === 'string') this.handlers?.push(message as Push);
  }

  private finish(code: number, reason: string): void {
    this.closed = true;
    const socket = this.socket;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onopen = null;
    socket.onerror = () => undefined;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      clearTimeout(p.timer);
      p.reject(new HeraldClientError('disconnected', `${p.op}: connection closed (${code}${reason ? ` ${reason}` : ''}) before the reply`, code));
    }
    const handlers = this.handlers;
    this.handlers = undefined;
    handlers?.close(code, reason); // undefined on a second call: the close is reported once
  }
}
