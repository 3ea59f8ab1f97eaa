/**
 * Interest: one core NATS subscription per pattern some local client wants (`<prefix>.t.<pattern>`,
 * wildcards as NATS wildcards), withdrawn when the last local subscriber leaves. The NATS server
 * then routes a topic's traffic only to nodes that asked for it.
 *
 * NATS delivers a message once per matching subscription, so a node subscribed to `a.*` and `a.>`
 * gets two copies of a publication on `a.b`. Each live message carries its sender's incarnation
 * and a counter increasing in send order, and NATS keeps one sender's messages in order on one
 * connection: a copy whose counter is not above the last one seen from that sender is a duplicate.
 * Stored publications (with a stream sequence) skip that check: a publisher re-sends unconfirmed
 * copies after its own reconnect, older than its newest, and the gap repair drops duplicates by
 * sequence instead (repair.ts).
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Publication } from '../../core/plugin.js';
import { unpack, type LiveEnvelope } from './envelope.js';
import type { Subjects } from './subjects.js';

interface Sender {
  last: number;
  seen: number;
}

/** Senders silent this long are forgotten (their counters are only needed while copies are in flight). */
const SENDER_MEMORY_MS = 10 * 60_000;

export class Interest {
  private readonly nc: NatsConnection;
  private readonly subjects: Subjects;
  private readonly nodeId: string;
  private readonly logger: Logger;
  private readonly deliver: (pub: Publication) => void;
  private readonly subs = new Map<string, Subscription>();
  private readonly senders = new Map<string, Sender>();
  /** Live messages received and delivered / dropped as echo or duplicate copies (tests and metrics). */
  readonly counts = { received: 0, delivered: 0, duplicates: 0, echoes: 0, undecodable: 0 };

  constructor(nc: NatsConnection, subjects: Subjects, nodeId: string, logger: Logger, deliver: (pub: Publication) => void) {
    this.nc = nc;
    this.subjects = subjects;
    this.nodeId = nodeId;
    this.logger = logger;
    this.deliver = deliver;
  }

  get patterns(): string[] {
    return [...this.subs.keys()];
  }

  has(pattern: string): boolean {
    return this.subs.has(pattern);
  }

  /** True when the pattern was new (the caller then flushes so the server has it). */
  add(pattern: string): boolean {
    if (this.subs.has(pattern)) return false;
    const sub = this.nc.subscribe(this.subjects.live(pattern), { callback: (err, msg) => { if (!err) this.onMessage(msg); } });
    this.subs.set(pattern, sub);
    return true;
  }

  remove(pattern: string): void {
    const sub = this.subs.get(pattern);
    if (sub === undefined) return;
    this.subs.delete(pattern);
    sub.unsubscribe();
  }

  private onMessage(msg: Msg): void {
    this.counts.received++;
    let env: LiveEnvelope;
    try {
      env = unpack<LiveEnvelope>(msg.data);
    } catch (err) {
      this.counts.undecodable++;
      this.logger.warn({ err, subject: msg.subject }, 'undecodable live publication dropped');
      return;
    }
    if (env.o === this.nodeId) { this.counts.echoes++; return; }
    const now = Date.now();
    let sender = this.senders.get(env.i);
    if (sender === undefined) this.senders.set(env.i, (sender = { last: -1, seen: now }));
    if (env.s === undefined && env.n <= sender.last) { this.counts.duplicates++; return; }
    if (env.n > sender.last) sender.last = env.n;
    sender.seen = now;
    this.counts.delivered++;
    try {
      this.deliver(new Publication(this.subjects.topicOfLive(msg.subject), env.d, env.s, env.s === undefined ? undefined : env.e, env.o));
    } catch (err) {
      // A subscriber's failure must not take the NATS subscription (or the process) down with it.
      this.logger.error({ err, subject: msg.subject }, 'local delivery of a remote publication failed');
    }
  }

  /** Forgets senders not heard from for a while (called periodically). */
  prune(): void {
    const cutoff = Date.now() - SENDER_MEMORY_MS;
    for (const [key, sender] of this.senders) if (sender.seen < cutoff) this.senders.delete(key);
  }

  close(): void {
    for (const sub of this.subs.values()) sub.unsubscribe();
    this.subs.clear();
  }
}
