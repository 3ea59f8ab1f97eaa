import { describe, expect, it } from 'vitest';
import { createMemoryBus, MemoryAdapter } from '../../core/cluster/memory-adapter.js';
import type { ClusterAdapter } from '../../core/contracts.js';
import { createContainer, startBroker, TOKENS } from '../../core/di.js';
import type { Broker } from '../../core/broker.js';
import { ws } from '../../transports/ws/index.js';
import { TestClient } from '../helpers/ws-client.js';

describe('composition root (herald/di)', () => {
  it('gives each broker its own container and singletons', () => {
    const a = createContainer({ noServer: true, logger: false });
    const b = createContainer({ noServer: true, logger: false });
    expect(a.get<Broker>(TOKENS.Broker)).toBe(a.get<Broker>(TOKENS.Broker));
    expect(a.get<Broker>(TOKENS.Broker)).not.toBe(b.get<Broker>(TOKENS.Broker));
    expect(a.get(TOKENS.Adapter)).not.toBe(b.get(TOKENS.Adapter));
  });

  it('binds every transport many-to-one under the Transport token', () => {
    const t1 = ws({ path: '/one' });
    const t2 = ws({ path: '/two' });
    const c = createContainer({ noServer: true, logger: false, transports: [t1, t2] });
    expect(c.getAll(TOKENS.Transport)).toEqual([t1, t2]);
  });

  it('lets an embedder swap a service before the broker is resolved', async () => {
    const published: string[] = [];
    class CountingAdapter extends MemoryAdapter {
      override async publish(topic: string, data: unknown) {
        published.push(topic);
        return super.publish(topic, data);
      }
    }
    const container = createContainer({ port: 0, host: '127.0.0.1', logger: false, transports: [ws()] });
    container.rebind<ClusterAdapter>(TOKENS.Adapter).toDynamicValue(() => new CountingAdapter({ bus: createMemoryBus() }));
    const broker = await startBroker(container);
    try {
      const c = await TestClient.connect(`ws://127.0.0.1:${broker.address()!.port}/ws`);
      await c.request('pub', { topic: 'swapped.in', data: 1 });
      expect(published).toEqual(['swapped.in']);
      await c.close();
    } finally {
      await broker.close();
    }
  });
});
