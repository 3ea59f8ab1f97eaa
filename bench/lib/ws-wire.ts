/**
 * A minimal WebSocket client over a raw TCP socket, for load generation. The `ws` client costs
 * several microseconds per received message; on a 2-core box the load would then measure itself.
 * This one parses frame headers only, and hands a payload over only when asked (latency runs).
 * Client frames carry a zero mask key (valid per RFC 6455 §5.3), so masking copies nothing.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

export const OP = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export interface WireOptions {
  host: string;
  port: number;
  path: string;
  /** Sec-WebSocket-Protocol to offer. */
  protocol?: string;
  /** Source address (127.0.0.x) so many connections do not exhaust one address's ports. */
  localAddress?: string;
  /** Called for every data frame; `payload` is only sliced out when `wantPayload` is set. */
  onFrame: (opcode: number, payload: Buffer | undefined) => void;
  wantPayload: boolean;
  onClose?: () => void;
}

/** Builds one masked client frame (FIN set, zero mask key). */
export function clientFrame(opcode: number, payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const n = body.length;
  const header = n < 126 ? 6 : n < 65536 ? 8 : 14;
  const out = Buffer.alloc(header + n);
  out[0] = 0x80 | opcode;
  if (n < 126) out[1] = 0x80 | n;
  else if (n < 65536) { out[1] = 0x80 | 126; out.writeUInt16BE(n, 2); }
  else { out[1] = 0x80 | 127; out.writeUInt32BE(0, 2); out.writeUInt32BE(n, 6); }
  // The 4-byte mask key stays zero: the payload goes out as is.
  body.copy(out, header);
  return out;
}

export class WireClient {
  readonly socket: net.Socket;
  private readonly options: WireOptions;
  private open = false;
  private pending: Buffer | undefined;
  private readonly opened: Promise<void>;

  constructor(options: WireOptions) {
    this.options = options;
    this.socket = net.connect({ host: options.host, port: options.port, localAddress: options.localAddress });
    this.socket.setNoDelay(true);
    const key = randomBytes(16).toString('base64');
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.once('connect', () => {
        this.socket.write(
          `GET ${options.path} HTTP/1.1\r\nHost: ${options.host}:${options.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          (options.protocol ? `Sec-WebSocket-Protocol: ${options.protocol}\r\n` : '') + '\r\n',
        );
      });
      this.socket.on('data', (chunk: Buffer) => {
        if (this.open) { this.parse(chunk); return; }
        const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
        const end = data.indexOf('\r\n\r\n');
        if (end < 0) { this.pending = data; return; }
        this.pending = undefined;
        const status = data.subarray(0, data.indexOf('\r\n')).toString();
        if (!/^HTTP\/1\.1 101/.test(status)) {
          reject(new Error(`upgrade refused: ${status}`));
          this.socket.destroy();
          return;
        }
        this.open = true;
        this.socket.removeListener('error', reject);
        this.socket.on('error', () => undefined);
        resolve();
        if (end + 4 < data.length) this.parse(data.subarray(end + 4));
      });
      this.socket.once('close', () => {
        reject(new Error('closed before upgrade'));
        options.onClose?.();
      });
    });
  }

  ready(): Promise<void> {
    return this.opened;
  }

  send(opcode: number, payload: string | Buffer): void {
    this.socket.write(clientFrame(opcode, payload));
  }

  /** Writes prebuilt client frames (one write for a whole burst). */
  sendRaw(frames: Buffer): void {
    this.socket.write(frames);
  }

  close(): void {
    this.socket.destroy();
  }

  private parse(chunk: Buffer): void {
    let data = chunk;
    if (this.pending) { data = Buffer.concat([this.pending, chunk]); this.pending = undefined; }
    let at = 0;
    const end = data.length;
    const { onFrame, wantPayload } = this.options;
    while (end - at >= 2) {
      const b0 = data[at]!;
      let length = data[at + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (end - at < 4) break;
        length = data.readUInt16BE(at + 2);
        header = 4;
      } else if (length === 127) {
        if (end - at < 10) break;
        length = data.readUInt32BE(at + 2) * 2 ** 32 + data.readUInt32BE(at + 6);
        header = 10;
      }
      if (end - at < header + length) break;
      const opcode = b0 & 0x0f;
      const start = at + header;
      at = start + length;
      if (opcode === OP.ping) { this.send(OP.pong, Buffer.from(data.subarray(start, at))); continue; }
      if (opcode === OP.close) { this.socket.end(); continue; }
      if (opcode === OP.pong) continue;
      onFrame(opcode, wantPayload ? data.subarray(start, at) : undefined);
    }
    if (at < end) this.pending = Buffer.from(data.subarray(at));
  }
}
