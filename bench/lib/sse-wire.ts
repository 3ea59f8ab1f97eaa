/**
 * A minimal Server-Sent Events client over a raw TCP socket, for load generation (the `eventsource`
 * package parses every field of every event; this only de-chunks and counts). It counts `msg`
 * events by the marker their data line starts with, and is ready once the `herald-ready` event
 * (which every SSE server in the bench sends first) arrives.
 */
import net from 'node:net';

const MSG_MARKER = Buffer.from('data: {"op":"msg"');
const READY_MARKER = Buffer.from('event: herald-ready');

export interface SseWireOptions {
  host: string;
  port: number;
  /** Path with query, e.g. /events?topic=a */
  path: string;
  localAddress?: string;
  onMessages: (count: number) => void;
}

export class SseWireClient {
  readonly socket: net.Socket;
  private headerDone = false;
  private pending: Buffer | undefined;
  /** Bytes left in the current HTTP chunk; -1 while reading a chunk-size line. */
  private chunkLeft = -1;
  /** The last bytes of the de-chunked body, so a marker split across reads is still found. */
  private tail: Buffer = Buffer.alloc(0);
  private isReady = false;
  private readonly opened: Promise<void>;

  constructor(private readonly options: SseWireOptions) {
    this.socket = net.connect({ host: options.host, port: options.port, localAddress: options.localAddress });
    this.socket.setNoDelay(true);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.once('connect', () => {
        this.socket.write(`GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nAccept: text/event-stream\r\n\r\n`);
      });
      this.socket.on('data', (chunk: Buffer) => {
        if (!this.headerDone) {
          const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
          const end = data.indexOf('\r\n\r\n');
          if (end < 0) { this.pending = data; return; }
          this.pending = undefined;
          const head = data.subarray(0, end).toString('latin1');
          if (!/^HTTP\/1\.1 200/.test(head) || !/transfer-encoding: chunked/i.test(head)) {
            reject(new Error(`SSE refused or not chunked: ${head.split('\r\n')[0]}`));
            this.socket.destroy();
            return;
          }
          this.headerDone = true;
          this.socket.removeListener('error', reject);
          this.socket.on('error', () => undefined);
          chunk = data.subarray(end + 4);
        }
        this.dechunk(chunk, resolve);
      });
      this.socket.once('close', () => reject(new Error('closed before the stream started')));
    });
  }

  ready(): Promise<void> {
    return this.opened;
  }

  close(): void {
    this.socket.destroy();
  }

  private dechunk(chunk: Buffer, resolve: () => void): void {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let at = 0;
    while (at < data.length) {
      if (this.chunkLeft < 0) {
        const eol = data.indexOf('\r\n', at);
        if (eol < 0) { this.pending = Buffer.from(data.subarray(at)); return; }
        this.chunkLeft = parseInt(data.subarray(at, eol).toString('latin1'), 16);
        at = eol + 2;
        continue;
      }
      if (this.chunkLeft === 0) {
        // The CRLF after a chunk's data.
        if (data.length - at < 2) { this.pending = Buffer.from(data.subarray(at)); return; }
        at += 2;
        this.chunkLeft = -1;
        continue;
      }
      const take = Math.min(this.chunkLeft, data.length - at);
      this.body(data.subarray(at, at + take), resolve);
      at += take;
      this.chunkLeft -= take;
    }
    data = Buffer.alloc(0);
  }

  private body(part: Buffer, resolve: () => void): void {
    const text = this.tail.length ? Buffer.concat([this.tail, part]) : part;
    let n = 0;
    for (let i = text.indexOf(MSG_MARKER); i >= 0; i = text.indexOf(MSG_MARKER, i + MSG_MARKER.length)) n++;
    if (!this.isReady && text.includes(READY_MARKER)) { this.isReady = true; resolve(); }
    // Keep fewer bytes than a marker, so no marker is counted twice and none is missed.
    this.tail = Buffer.from(text.subarray(Math.max(0, text.length - (MSG_MARKER.length - 1))));
    if (n > 0) this.options.onMessages(n);
  }
}
