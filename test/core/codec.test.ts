import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonCodec, msgpackCodec } from '../../core/codec.js';

describe('codecs', () => {
  it('round-trip any JSON value through both codecs (property)', () => {
    const noProto = (v: unknown) => !JSON.stringify(v).includes('"__proto__"');
    fc.assert(fc.property(fc.jsonValue().filter(noProto), (value) => {
      const normal = JSON.parse(JSON.stringify(value)); // -0 and friends as JSON sees them
      expect(jsonCodec.decode(jsonCodec.encode(value) as string)).toEqual(normal);
      expect(msgpackCodec.decode(msgpackCodec.encode(normal) as Buffer)).toEqual(normal);
    }), { numRuns: 500 });
  });

  it('JSON carries what only msgpack can express: bigint as a string, bytes as base64', () => {
    expect(JSON.parse(jsonCodec.encode({ n: 2n ** 70n }) as string)).toEqual({ n: (2n ** 70n).toString() });
    expect(JSON.parse(jsonCodec.encode({ data: new Uint8Array([1, 2, 3]) }) as string)).toEqual({ data: 'AQID' });
    expect(JSON.parse(jsonCodec.encode({ deep: { b: Buffer.from('hi') } }) as string)).toEqual({ deep: { b: 'aGk=' } });
  });

  it('msgpack decodes 64-bit integers as numbers where exact, as bigint beyond 2^53, and maps as plain objects', () => {
    const bytes = msgpackCodec.encode({ big: 2 ** 53 - 1, m: new Map([['k', 1]]) }) as Buffer;
    expect(msgpackCodec.decode(bytes)).toEqual({ big: 2 ** 53 - 1, m: { k: 1 } });
    // uint64 2^60 + 1 and int64 -(2^60 + 1), written by any msgpack library.
    const uint64 = Buffer.from([0xcf, 0x10, 0, 0, 0, 0, 0, 0, 1]);
    const int64 = Buffer.from([0xd3, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    expect([msgpackCodec.decode(uint64), msgpackCodec.decode(int64)]).toEqual([2n ** 60n + 1n, -(2n ** 60n + 1n)]);
  });

  it('msgpack never lets a "__proto__" key set a prototype (msgpackr renames it)', () => {
    const decoded = msgpackCodec.decode(msgpackCodec.encode(JSON.parse('{"__proto__":{"polluted":1}}')) as Buffer) as object;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect((decoded as { polluted?: number }).polluted).toBeUndefined();
  });

  it('rejects malformed input by throwing', () => {
    expect(() => jsonCodec.decode('{nope')).toThrow();
    expect(() => msgpackCodec.decode(Buffer.alloc(0))).toThrow();
    expect(() => msgpackCodec.decode(Buffer.from([0x82, 0xa1]))).toThrow(); // map cut short
  });
});
