/**
 * Publish idempotency keys over NATS, in a JetStream KV bucket (`<stream-safe prefix>_idempotency`)
 * whose entries live for the idempotency window. It covers every topic, with or without history
 * (JetStream's own Nats-Msg-Id de-duplication would only cover stored ones, and only for the
 * stream's duplicate window). The bucket is made on first use, so a cluster that never publishes
 * with a key needs no JetStream for it.
 *
 * A first publish claims the key (KV create: only one node can), publishes, then records its
 * position under the key. A repeat on any node finds the key taken and answers with the recorded
 * position, waiting while the first is still in flight. A first publish that fails deletes its claim.
 */
import { createHash } from 'node:crypto';
import { Kvm, type KV } from '@nats-io/kv';
import { jetstream, type StorageType } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { HeraldError, type Position, type PublishOnceResult } from '../../core/plugin.js';
import { pack, unpack } from './envelope.js';
import type { ResolvedNatsOptions } from './options.js';

/** What a key holds: `p` is absent while the first publish is in flight, null when its topic keeps no history. */
interface Claim {
  readonly n: string;
  readonly p?: Position | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

export class IdempotencyKeys {
  private readonly nc: NatsConnection;
  private readonly bucketName: string;
  private readonly options: ResolvedNatsOptions;
  private readonly nodeId: string;
  private bucket: Promise<KV> | undefined;

  constructor(nc: NatsConnection, prefix: string, options: ResolvedNatsOptions, nodeId: string) {
    this.nc = nc;
    // The prefix is one NAME_TOKEN (options.ts), already a valid bucket name.
    this.bucketName = `${prefix}_idempotency`;
    this.options = options;
    this.nodeId = nodeId;
  }

  private open(windowMs: number): Promise<KV> {
    this.bucket ??= (async () => {
      const kvm = new Kvm(jetstream(this.nc, { timeout: this.options.requestTimeoutMs }));
      try {
        return await kvm.create(this.bucketName, {
          history: 1, ttl: windowMs, storage: this.options.storage as StorageType, replicas: this.options.replicas,
        });
      } catch {
        // Made by another node with other settings (say, another window): use it as it is.
        return await kvm.open(this.bucketName);
      }
    })();
    this.bucket.catch(() => { this.bucket = undefined; });
    return this.bucket;
  }

  async once(key: string, windowMs: number, publish: () => Promise<Position | undefined>): Promise<PublishOnceResult> {
    let kv: KV;
    try {
      kv = await this.open(windowMs);
    } catch (err) {
      throw new HeraldError('unavailable', `the idempotency store (JetStream KV) cannot be reached: ${(err as Error).message}`);
    }
    // KV keys allow few characters: any application key becomes a fixed-length digest.
    const k = createHash('sha256').update(key, 'utf8').digest('hex');
    const deadline = Date.now() + this.options.publishTimeoutMs + this.options.outboxAgeMs;
    let wait = 5;
    for (;;) {
      let revision: number | undefined;
      try {
        revision = await kv.create(k, pack({ n: this.nodeId } satisfies Claim));
      } catch {
        revision = undefined; // taken (or a failure: the read below tells)
      }
      if (revision !== undefined) return this.publishClaimed(kv, k, revision, publish);
      let entry;
      try {
        entry = await kv.get(k);
      } catch (err) {
        throw new HeraldError('unavailable', `the idempotency store (JetStream KV) cannot be read: ${(err as Error).message}`);
      }
      if (entry !== null && entry.operation === 'PUT') {
        const claim = unpack<Claim>(entry.value);
        if (claim.p !== undefined) return { position: claim.p ?? undefined, duplicate: true };
      }
      // In flight on another node (or freed by a failure: claim it again).
      if (Date.now() > deadline) throw new HeraldError('unavailable', 'a publish with this idempotency key is still in flight: retry later');
      await sleep(wait);
      wait = Math.min(wait * 2, 200);
    }
  }

  private async publishClaimed(kv: KV, k: string, revision: number, publish: () => Promise<Position | undefined>): Promise<PublishOnceResult> {
    let position: Position | undefined;
    try {
      position = await publish();
    } catch (err) {
      await kv.delete(k).catch(() => undefined);
      throw err;
    }
    // Published: the answer stands even if the position cannot be recorded; repeats then see the
    // claim in flight and are refused (unavailable) until it expires, never published twice.
    await kv.update(k, pack({ n: this.nodeId, p: position ?? null } satisfies Claim), revision).catch(() => undefined);
    return { position, duplicate: false };
  }
}
