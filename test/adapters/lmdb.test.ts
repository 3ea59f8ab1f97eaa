import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LmdbHistoryStore, lmdbHistory } from '../../adapters/lmdb/index.js';
import { createMemoryBus, memoryAdapter } from '../../core/cluster/memory-adapter.js';
import { adapterConformance } from './conformance.js';
import { historyStoreConformance } from './history-store-conformance.js';

const root = mkdtempSync(join(tmpdir(), 'herald-lmdb-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => join(root, `store-${++dirs}`);

historyStoreConformance('lmdb', {
  create: (now) => new LmdbHistoryStore({ dir: freshDir(), now }),
  reopen: (store, now) => new LmdbHistoryStore({ dir: (store as LmdbHistoryStore).dir, now }),
});

historyStoreConformance('lmdb, durability flush', {
  create: (now) => new LmdbHistoryStore({ dir: freshDir(), now, durability: 'flush' }),
  reopen: (store, now) => new LmdbHistoryStore({ dir: (store as LmdbHistoryStore).dir, now, durability: 'flush' }),
});

// Several in-process brokers on one bus share one durable store.
adapterConformance('memory adapter on an lmdb store', async () => {
  const store = lmdbHistory({ dir: freshDir() });
  const bus = createMemoryBus({ store });
  return { node: () => memoryAdapter({ bus }) };
}, { propagationMs: 500 });

const bounds = { size: 1, ttl: 1000, maxTopics: 1, maxBytes: 1000 };

describe('lmdb history store: opening', () => {
  it('refuses a directory it cannot create, naming it', async () => {
    const file = join(root, 'a-file');
    const blocker = new LmdbHistoryStore({ dir: freshDir() });
    await blocker.open(bounds);
    await blocker.close();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(file, 'not a directory');
    const store = new LmdbHistoryStore({ dir: join(file, 'data') });
    await expect(store.open(bounds)).rejects.toThrow(/history directory .*a-file\/data is not usable/);
  });

  it('refuses a directory another store of this process holds, and opens it once that one closed', async () => {
    const dir = freshDir();
    const first = new LmdbHistoryStore({ dir });
    await first.open(bounds);
    await expect(new LmdbHistoryStore({ dir }).open(bounds)).rejects.toThrow(/already open in this process/);
    await first.close();
    const second = new LmdbHistoryStore({ dir });
    await second.open(bounds);
    await second.close();
  });
});

describe('lmdb history store: after the machine went down', () => {
  it('starts every topic over under a new epoch when it was not closed and the boot changed (commit mode may have lost unflushed commits)', async () => {
    const dir = freshDir();
    const store = new LmdbHistoryStore({ dir });
    await store.open(bounds);
    const first = await store.append('t', 1, 'n');
    await store.close();
    // What a power loss leaves: the store record of a run that never closed, under an older boot.
    const { open } = await import('lmdb');
    const env = open({ path: dir, maxDbs: 4 });
    const info = env.openDB<Record<string, unknown>, string>({ name: 'store' });
    const unclean = { ...info.get('store')!, clean: false, boot: 'an-earlier-boot' };
    await info.put('store', unclean);
    await env.close();
    const again = new LmdbHistoryStore({ dir });
    await again.open(bounds);
    const resumed = await again.read('t', { since: { offset: 0, epoch: first.epoch! } });
    expect(resumed.recovered).toBe(false);
    expect(resumed.position.epoch).not.toBe(first.epoch);
    await again.close();
    // Closed cleanly this time: the next open keeps the epoch.
    const third = new LmdbHistoryStore({ dir });
    await third.open(bounds);
    expect((await third.read('t', { limit: 0 })).position.epoch).toBe(resumed.position.epoch);
    await third.close();
  });
});

describe('createBroker with history.store', () => {
  it('keeps history on disk: a new broker on the same directory resumes the positions; without a store it stays in memory', async () => {
    const { createBroker } = await import('../../core/index.js');
    const dir = freshDir();
    const first = await createBroker({ noServer: true, logger: false, history: { store: lmdbHistory({ dir }) } });
    const a = await first.publish('embedded.t', 'one');
    await first.publish('embedded.t', 'two');
    await first.close();
    const second = await createBroker({ noServer: true, logger: false, history: { store: lmdbHistory({ dir }) } });
    const resumed = await second.history('embedded.t', { since: { offset: a.offset!, epoch: a.epoch! } });
    expect(resumed.recovered).toBe(true);
    expect(resumed.publications.map((p) => p.data)).toEqual(['two']);
    await second.close();
    const memory = await createBroker({ noServer: true, logger: false });
    expect((await memory.history('embedded.t', { since: { offset: a.offset!, epoch: a.epoch! } })).recovered).toBe(false);
    await memory.close();
  });

  it('refuses history.store beside a cluster adapter, naming the key', async () => {
    const { createBroker } = await import('../../core/index.js');
    await expect(createBroker({ noServer: true, logger: false, adapter: memoryAdapter(), history: { store: lmdbHistory({ dir: freshDir() }) } }))
      .rejects.toThrow(/history\.store: store keeps history for the built-in memory engine/);
  });

  it('refuses an unknown history key (a `dir` there is not silently kept in memory)', async () => {
    const { createBroker } = await import('../../core/index.js');
    await expect(createBroker({ noServer: true, logger: false, history: { dir: freshDir() } } as never)).rejects.toThrow(/history.*dir/);
  });
});
