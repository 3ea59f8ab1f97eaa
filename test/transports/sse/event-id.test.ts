import { describe, expect, it } from 'vitest';
import { decodeEventId, encodeEventId } from '../../../transports/sse/event-id.js';

describe('SSE event id', () => {
  it('round-trips every topic, __proto__ and constructor included (the map has no prototype)', () => {
    const positions = new Map([
      ['__proto__', { offset: 3, epoch: 'e1' }],
      ['constructor', { offset: 4, epoch: 'e2' }],
      ['chat.room1', { offset: 5, epoch: 'e3' }],
    ]);
    expect(decodeEventId(encodeEventId(positions))).toEqual(positions);
  });
});
