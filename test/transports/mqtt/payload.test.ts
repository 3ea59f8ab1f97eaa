import { describe, expect, it } from 'vitest';
import { dataFromPayload, payloadFromData } from '../../../transports/mqtt/payload.js';

describe('MQTT payload ↔ data', () => {
  it('reads JSON as its value, other text as a string, other bytes as bytes', () => {
    expect(dataFromPayload(Buffer.from('{"t":21.5}'))).toEqual({ t: 21.5 });
    expect(dataFromPayload(Buffer.from('21.5'))).toBe(21.5);
    expect(dataFromPayload(Buffer.from('ON'))).toBe('ON');
    expect(dataFromPayload(Buffer.from('{not json'))).toBe('{not json');
    expect(dataFromPayload(Buffer.alloc(0))).toBe('');
    const bytes = dataFromPayload(Buffer.from([0xff, 0x00, 0xfe]));
    expect(Buffer.isBuffer(bytes) && [...bytes]).toEqual([0xff, 0x00, 0xfe]);
  });

  it('writes strings unquoted, bytes as they are, other values as JSON', () => {
    expect(payloadFromData('ON').toString()).toBe('ON');
    expect(payloadFromData({ t: 1 }).toString()).toBe('{"t":1}');
    expect(payloadFromData(7).toString()).toBe('7');
    expect([...payloadFromData(new Uint8Array([1, 2]))]).toEqual([1, 2]);
  });
});
