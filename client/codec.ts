/**
 * The client's side of the two protocol v1 codecs. Not core/codec.ts: that one leans on Node's
 * Buffer, and this one must run in browsers. The msgpack options are the server's (core/messages.ts: plain maps,
 * no records) so both ends read each other's frames.
 */
import { Packr } from 'msgpackr';
import { msgpackOptions, SUBPROTOCOLS } from '../core/messages.js';

export type Protocol = 'json' | 'msgpack';

export interface ClientCodec {
  readonly name: Protocol;
  /** The WebSocket subprotocol that selects this codec. */
  readonly subprotocol: string;
  encode(value: unknown): string | Uint8Array;
  decode(data: unknown): unknown;
}

const utf8 = new TextDecoder();

function bytesOf(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError('expected binary frame data');
}

export const jsonClientCodec: ClientCodec = {
  name: 'json',
  subprotocol: SUBPROTOCOLS.json,
  encode: (value) => JSON.stringify(value),
  decode: (data) => JSON.parse(typeof data === 'string' ? data : utf8.decode(bytesOf(data))),
};

// The server's options, except that 64-bit integers decode as numbers (as they always did here).
const packr = new Packr({ ...msgpackOptions, int64AsType: 'number' });

export const msgpackClientCodec: ClientCodec = {
  name: 'msgpack',
  subprotocol: SUBPROTOCOLS.msgpack,
  encode: (value) => packr.pack(value),
  decode: (data) => packr.unpack(bytesOf(data)),
};

export function codecFor(protocol: Protocol): ClientCodec {
  return protocol === 'msgpack' ? msgpackClientCodec : jsonClientCodec;
}
