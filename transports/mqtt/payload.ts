/**
 * MQTT payloads are bytes; Herald publications carry `data` (docs/transports.md, "Payloads"):
 * - MQTT → data: UTF-8 that parses as JSON gives that value; other UTF-8 text gives the string;
 *   anything else gives the bytes (JSON subscribers see them as base64, msgpack ones as bin).
 * - data → MQTT: a string is sent as its UTF-8 text (unquoted), bytes as they are, any other
 *   value as its JSON text.
 * So devices sending `21.5`, `ON` or `{"t":21.5}` reach JSON clients as 21.5, "ON" and {t:21.5}.
 */
import { jsonCodec } from '../../core/plugin.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function dataFromPayload(payload: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return Buffer.from(payload); // the parser's buffer may be a view into a larger read
  }
  const first = text.charCodeAt(0);
  // Only text that can start a JSON value is tried: a plain word is a string without a throw.
  if (first === 123 || first === 91 || first === 34 || first === 45 || (first >= 48 && first <= 57) ||
      text === 'true' || text === 'false' || text === 'null') {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

export function payloadFromData(data: unknown): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(jsonCodec.encode(data) as string, 'utf8');
}
