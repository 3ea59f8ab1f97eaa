/**
 * A WebSocket client written on a raw TCP socket, so tests can send what no library would: bad
 * opcodes, RSV bits, unmasked or truncated frames, lying lengths, invalid UTF-8.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface RawFrame {
  fin?: boolean;
  rsv?: number;
  opcode: number;
  masked?: boolean;
  payload?: Buffer;
  /** Length written in the header when it lies about the payload (bigint for the 64-bit form). */
  length?: number | bigint;
}

export function encodeFrame(f: RawFrame): Buffer {
  const payload = f.payload ?? Buffer.alloc(0);
  const masked = f.masked ?? true;
  const length = f.length ?? payload.length;
  const head: number[] = [((f.fin ?? true) ? 0x80 : 0) | ((f.rsv ?? 0) << 4) | (f.opcode & 0x0f)];
  let ext = Buffer.alloc(0);
  if (typeof length === 'bigint' || length > 65535) {
    head.push(127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(BigInt(length));
  } else if (length > 125) {
    head.push(126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(length);
  } else head.push(length);
  if (masked) head[1]! |= 0x80;
  const mask = masked ? randomBytes(4) : Buffer.alloc(0);
  const body = Buffer.from(payload);
  if (masked) for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!;
  return Buffer.concat([Buffer.from(head), ext, mask, body]);
}

export interface RawClient {
  socket: Socket;
  /** Server bytes after the handshake response. */
  received(): Buffer;
  /** Resolves when the TCP connection is fully closed. */
  closed: Promise<void>;
  /** The close code of the first close frame the server sent, if any. */
  closeCode(): number | undefined;
}

export async function rawConnect(port: number, options: { path?: string; headers?: Record<string, string>; localAddress?: string } = {}): Promise<{ client?: RawClient; status: number; response: string }> {
  const socket = connect({ port, host: '127.0.0.1', localAddress: options.localAddress });
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  const key = randomBytes(16).toString('base64');
  const headers = { host: `127.0.0.1:${port}`, upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': key, 'sec-websocket-version': '13', ...options.headers };
  socket.write(`GET ${options.path ?? '/ws'} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
  let buf = Buffer.alloc(0);
  const head = await new Promise<string>((resolve) => {
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end !== -1) {
        socket.off('data', onData);
        const text = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        resolve(text);
      }
    };
    socket.on('data', onData);
    void closed.then(() => resolve(buf.toString('latin1')));
  });
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  if (status !== 101) {
    socket.destroy();
    return { status, response: head };
  }
  socket.on('data', (d: Buffer) => { buf = Buffer.concat([buf, d]); });
  return {
    status,
    response: head,
    client: { socket, closed, received: () => buf, closeCode: () => firstCloseCode(buf) },
  };
}

/** Walks server frames (unmasked) and returns the code of the first close frame. */
export function firstCloseCode(buf: Buffer): number | undefined {
  let i = 0;
  while (i + 2 <= buf.length) {
    const opcode = buf[i]! & 0x0f;
    let len = buf[i + 1]! & 0x7f;
    let off = i + 2;
    if (len === 126) { if (off + 2 > buf.length) return undefined; len = buf.readUInt16BE(off); off += 2; }
    else if (len === 127) { if (off + 8 > buf.length) return undefined; len = Number(buf.readBigUInt64BE(off)); off += 8; }
    if (off + len > buf.length) return undefined;
    if (opcode === 0x8) return len >= 2 ? buf.readUInt16BE(off) : 1005;
    i = off + len;
  }
  return undefined;
}
