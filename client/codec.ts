/**
 * The client's side of the two protocol v1 codecs. Not core/codec.ts: that one leans on Node's
 * Buffer, and this one must run in browsers. The msgpack options mirror the server's (plain maps,
 * no records) so both ends read each other's frames.
 */
import { Packr } from 'msgpackr';
import { SUBPROTOCOLS } from '../core/messages.js';

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

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number', largeBigIntToFloat: true, moreTypes: false });

export const msgpackClientCodec: ClientCodec = {
  name: 'msgpack',
  subprotocol: SUBPROTOCOLS.msgpack,
  encode: (value) => packr.pack(value),
  decode: (data) => packr.unpack(bytesOf(data)),
};

export function codecFor(protocol: Protocol): ClientCodec {
  return protocol === 'msgpack' ? msgpackClientCodec : jsonClientCodec;
}
