/** A protocol v1 test client over a real `ws` WebSocket: requests matched by id, pushes collected. */
import WebSocket from 'ws';
import { jsonCodec, msgpackCodec, type Codec } from '../../core/codec.js';

export type Message = Record<string, any>;

export class TestClient {
  readonly ws: WebSocket;
  readonly codec: Codec;
  /** Every message received, in order (replies and pushes). */
  readonly received: Message[] = [];
  closeCode: number | undefined;
  closeReason = '';
  private nextId = 1;
  private readonly waiters = new Set<{ test: (m: Message) => boolean; resolve: (m: Message) => void }>();
  private readonly closed: Promise<number>;

  private constructor(ws: WebSocket, codec: Codec) {
    this.ws = ws;
    this.codec = codec;
    ws.on('message', (data: Buffer) => {
      const m = codec.decode(codec.binary ? data : data.toString('utf8')) as Message;
      this.received.push(m);
      for (const w of this.waiters) if (w.test(m)) { this.waiters.delete(w); w.resolve(m); }
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      resolve(code);
    }));
    ws.on('error', () => undefined);
  }

  static async connect(url: string, options: { protocol?: 'json' | 'msgpack' | string; headers?: Record<string, string> } = {}): Promise<TestClient> {
    const protocols = options.protocol === undefined ? [] : [options.protocol === 'json' || options.protocol === 'msgpack' ? `herald.v1.${options.protocol}` : options.protocol];
    const ws = new WebSocket(url, protocols, { headers: options.headers });
    const codec = ws.protocol === 'herald.v1.msgpack' || options.protocol === 'msgpack' ? msgpackCodec : jsonCodec;
    const client = new TestClient(ws, codec);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return client;
  }

  /** Sends any value (or raw string/bytes with `raw`). */
  send(value: unknown): void {
    this.ws.send(this.codec.encode(value));
  }

  sendRaw(data: string | Buffer, binary = typeof data !== 'string'): void {
    this.ws.send(data, { binary });
  }

  /** Sends a command with a fresh id and resolves with its reply. */
  request(op: string, fields: Message = {}, timeoutMs = 5000): Promise<Message> {
    const id = this.nextId++;
    const reply = this.next((m) => m.id === id, timeoutMs);
    this.send({ op, id, ...fields });
    return reply;
  }

  /** Resolves with the first FUTURE message matching `test`: register it before the action that causes the message. */
  next(test: (m: Message) => boolean, timeoutMs = 5000): Promise<Message> {
    return new Promise((resolve, reject) => {
      const waiter = { test, resolve: (m: Message) => { clearTimeout(timer); resolve(m); } };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out waiting for a message; got ${JSON.stringify(this.received.slice(-5))}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** The first message matching `test`, received already or once it comes. */
  first(test: (m: Message) => boolean, timeoutMs = 5000): Promise<Message> {
    const seen = this.received.find(test);
    return seen !== undefined ? Promise.resolve(seen) : this.next(test, timeoutMs);
  }

  /** Pushes `{op:'msg'}` received so far, optionally for one topic. */
  messages(topic?: string): Message[] {
    return this.received.filter((m) => m.op === 'msg' && (topic === undefined || m.topic === topic));
  }

  /** Waits until `count` msg pushes (for `topic`, if given) have arrived. */
  async waitForMessages(count: number, topic?: string, timeoutMs = 5000): Promise<Message[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages(topic).length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} messages, got ${this.messages(topic).length}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.messages(topic);
  }

  waitClose(timeoutMs = 5000): Promise<number> {
    return Promise.race([
      this.closed,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error('connection did not close')), timeoutMs)),
    ]);
  }

  close(): Promise<number> {
    this.ws.close();
    return this.waitClose();
  }
}
