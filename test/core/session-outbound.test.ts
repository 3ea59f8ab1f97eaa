import { describe, expect, it } from 'vitest';
import type { Connection, Encoder } from '../../core/contracts.js';
import { Publication, type Chunk } from '../../core/publication.js';
import { Outbound, TurnFlush, type OutboundOwner } from '../../core/session-outbound.js';

const encoder: Encoder = { key: 'test.json', encode: (message) => JSON.stringify(message) };
const turnEnd = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function outboundOf(maxBytes = 1000, turn = new TurnFlush(), enc: Encoder = encoder) {
  const writes: Chunk[][] = [];
  const connection: Connection & { bufferedAmount: number } = { write: (chunks) => { writes.push(chunks); }, close: () => undefined, bufferedAmount: 0 };
  const events = { overflowed: [] as number[], unencodable: [] as string[] };
  const owner: OutboundOwner = {
    overflowed: (dropped) => { events.overflowed.push(dropped); },
    unencodable: (pub) => { events.unencodable.push(pub.topic); },
  };
  return { outbound: new Outbound(connection, enc, turn, maxBytes, owner), writes, connection, events };
}

describe('Outbound', () => {
  it('writes what a turn queued in one call per connection once the turn ends', async () => {
    const turn = new TurnFlush();
    const a = outboundOf(1000, turn);
    const b = outboundOf(1000, turn);
    a.outbound.enqueue('1');
    b.outbound.enqueue('x');
    a.outbound.enqueue('2');
    expect(a.writes).toEqual([]);
    await turnEnd();
    expect(a.writes).toEqual([['1', '2']]);
    expect(b.writes).toEqual([['x']]);
    a.outbound.enqueue('3');
    await turnEnd();
    expect(a.writes).toEqual([['1', '2'], ['3']]);
  });

  it('shares a publication\'s bytes between connections of one encoder key', () => {
    const pub = new Publication('t', { n: 1 }, 1, 'e', 'node');
    const first = outboundOf().outbound.publication(pub);
    expect(first).toBe(JSON.stringify(pub.message()));
    expect(outboundOf().outbound.publication(pub)).toBe(first);
  });

  it('reports a publication its encoder cannot encode and skips it', () => {
    const failing: Encoder = { key: 'failing', encode: () => { throw new Error('no'); } };
    const { outbound, events } = outboundOf(1000, new TurnFlush(), failing);
    expect(outbound.publication(new Publication('t', 1, undefined, undefined, 'node'))).toBeUndefined();
    expect(events.unencodable).toEqual(['t']);
  });

  it('over the byte cap (queued plus what the socket holds) drops the queue and tells its owner how much', async () => {
    const { outbound, writes, connection, events } = outboundOf(10);
    expect(outbound.enqueue('12345')).toBe(true);
    expect(outbound.fits(['12345'])).toBe(true);
    connection.bufferedAmount = 3;
    expect(outbound.fits(['12345'])).toBe(false);
    expect(outbound.enqueue('12345')).toBe(false);
    expect(events.overflowed).toEqual([2]);
    await turnEnd();
    expect(writes).toEqual([]);
  });

  it('write() hands over what is queued at once (before a reply callback or a close), and the turn then writes nothing more', async () => {
    const { outbound, writes } = outboundOf();
    outbound.enqueue('a');
    outbound.write();
    expect(writes).toEqual([['a']]);
    await turnEnd();
    expect(writes).toEqual([['a']]);
  });
});
