/**
 * Codecs turn protocol messages into payload bytes and back (docs/protocol.md). A codec knows nothing
 * of framing: transports wrap what it produces in their own frames.
 */
import { Packr } from 'msgpackr';
import { msgpackOptions } from './messages.js';

export interface Codec {
  /** Subprotocol suffix and cache key part: 'json', 'msgpack'. */
  readonly name: string;
  /** True when the encoded form is bytes (binary frames), false for text. */
  readonly binary: boolean;
  encode(value: unknown): string | Buffer;
  /** Throws on malformed input; callers turn that into `bad_request`. */
  decode(input: Buffer | string): unknown;
}

/**
 * JSON that also carries what a msgpack publisher can send but JSON cannot: bigint becomes a decimal
 * string, bytes become base64. The replacer costs per encoded message, and a publication is encoded
 * once for all its JSON subscribers, so fan-out does not pay it per delivery.
 */
export const jsonCodec: Codec = {
  name: 'json',
  binary: false,
  encode(value) {
    return JSON.stringify(value, portable);
  },
  decode(input) {
    return JSON.parse(typeof input === 'string' ? input : input.toString('utf8'));
  },
};

function portable(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value !== null && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' &&
      Array.isArray((value as { data?: unknown }).data)) {
    // Buffer#toJSON already ran before the replacer saw it.
    return Buffer.from((value as { data: number[] }).data).toString('base64');
  }
  return value;
}

// The options live with the wire types (messages.ts) so the browser client packs the same way.
export { msgpackOptions };
const packr = new Packr(msgpackOptions);

export const msgpackCodec: Codec = {
  name: 'msgpack',
  binary: true,
  encode(value) {
    return packr.pack(value);
  },
  decode(input) {
    const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
    if (bytes.length === 0) throw new Error('empty msgpack frame');
    return packr.unpack(bytes);
  },
};

export const codecs: Readonly<Record<string, Codec>> = { json: jsonCodec, msgpack: msgpackCodec };
