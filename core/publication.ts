/**
 * A publication as it fans out. Its wire forms are encoded lazily, once per encoder key (codec and
 * framing), and the bytes are shared by every subscriber using that encoder (docs/architecture.md).
 */
import type { MsgPush } from './messages.js';

export type Chunk = Buffer | string;

export class Publication {
  readonly topic: string;
  readonly data: unknown;
  readonly offset: number | undefined;
  readonly epoch: string | undefined;
  /** The node that accepted it; lets adapters and metrics tell local from remote. */
  readonly origin: string | undefined;
  /**
   * Where it sits in the adapter's one order across topics (the JetStream stream sequence, the
   * memory bus's counter), when the adapter has one: a replay of several topics interleaves by it.
   */
  readonly sequence: number | undefined;
  // Two inline slots cover the usual case (one or two encoders in use) without a Map per message.
  private k1: string | undefined;
  private v1: Chunk | undefined;
  private k2: string | undefined;
  private v2: Chunk | undefined;
  private more: Map<string, Chunk> | undefined;
  private push: MsgPush | undefined;

  constructor(topic: string, data: unknown, offset?: number, epoch?: string, origin?: string, sequence?: number) {
    this.topic = topic;
    this.data = data;
    this.offset = offset;
    this.epoch = epoch;
    this.origin = origin;
    this.sequence = sequence;
  }

  /** The protocol object `{op:'msg', topic, data, offset?, epoch?}`, built once. */
  message(): MsgPush {
    if (this.push === undefined) {
      const push: MsgPush = { op: 'msg', topic: this.topic, data: this.data };
      if (this.offset !== undefined) {
        push.offset = this.offset;
        push.epoch = this.epoch;
      }
      this.push = push;
    }
    return this.push;
  }

  /** The bytes for `key`, produced by `encode` the first time any subscriber asks. */
  encoded(key: string, encode: (p: Publication) => Chunk): Chunk {
    return this.cached(key) ?? this.store(key, encode(this));
  }

  /** The `msg` push as `encoder` writes it, encoded once per encoder key. */
  encodedFor(encoder: { readonly key: string; encode(message: MsgPush): Chunk }): Chunk {
    return this.cached(encoder.key) ?? this.store(encoder.key, encoder.encode(this.message()));
  }

  private cached(key: string): Chunk | undefined {
    if (this.k1 === key) return this.v1;
    if (this.k2 === key) return this.v2;
    return this.more?.get(key);
  }

  private store(key: string, value: Chunk): Chunk {
    if (this.k1 === undefined) { this.k1 = key; this.v1 = value; }
    else if (this.k2 === undefined) { this.k2 = key; this.v2 = value; }
    else (this.more ??= new Map()).set(key, value);
    return value;
  }
}
