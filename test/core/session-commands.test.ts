import { describe, expect, it } from 'vitest';
import { MemoryAdapter } from '../../core/cluster/memory-adapter.js';
import { sleep, startBroker } from '../helpers/broker.js';

/** The in-memory engine acknowledging each publish `ackMs` late, like a JetStream round trip; `peak` is the most in flight at once. */
class SlowAckAdapter extends MemoryAdapter {
  peak = 0;
  private inFlight = 0;
  constructor(private readonly ackMs: number) {
    super();
  }

  override async publish(topic: string, data: unknown) {
    this.peak = Math.max(this.peak, ++this.inFlight);
    const position = await super.publish(topic, data);
    await sleep(this.ackMs);
    this.inFlight--;
    return position;
  }
}

describe('Session: pipelined publishes', () => {
  it('does not wait for one publish to be acknowledged before the next; replies and deliveries keep publish order', async () => {
    const adapter = new SlowAckAdapter(40);
    const { client } = await startBroker({ adapter });
    const sub = await client();
    await sub.request('sub', { topic: 'burst' });
    const pub = await client();
    const N = 50;
    const replies = Array.from({ length: N }, (_, i) => pub.request('pub', { topic: 'burst', data: i }, 10_000));
    const answered = await Promise.all(replies);
    // Serialised, one publish would wait for the previous ack: never more than one in flight.
    // Pipelined, a burst overlaps up to limits.pendingCommands of them (the speed is a bench matter).
    expect(adapter.peak).toBeGreaterThan(1);
    expect(answered.map((r) => r.offset)).toEqual([...Array(N).keys()].map((i) => i + 1));
    const replyOrder = pub.received.filter((m) => m.id !== undefined).map((m) => m.id);
    expect(replyOrder).toEqual([...replyOrder].sort((a, b) => a - b));
    const got = await sub.waitForMessages(N);
    expect(got.map((m) => m.data)).toEqual([...Array(N).keys()]);
  });

  it('keeps at most limits.pendingCommands publishes in flight, queues as many more, and refuses the rest with rate_limited', async () => {
    const adapter = new SlowAckAdapter(5);
    const { client } = await startBroker({ adapter, limits: { pendingCommands: 8 } });
    const pub = await client();
    const replies = Array.from({ length: 20 }, (_, i) => pub.request('pub', { topic: 'p', data: i }, 10_000));
    const answered = await Promise.all(replies);
    expect(adapter.peak).toBe(8);
    const ok = answered.filter((r) => r.ok);
    expect(ok.map((r) => r.offset)).toEqual([...Array(16).keys()].map((i) => i + 1)); // 8 in flight + 8 queued
    expect(answered.filter((r) => !r.ok).map((r) => r.error.code)).toEqual(Array(4).fill('rate_limited'));
    expect((await pub.request('pub', { topic: 'p', data: 'after' })).offset).toBe(17);
  });
});
