/**
 * Interest: one core NATS subscription per pattern some local client wants (`<prefix>.t.<pattern>`,
 * wildcards as NATS wildcards), withdrawn when the last local subscriber leaves. The NATS server
 * then routes a topic's traffic only to nodes that asked for it.
 *
 * NATS delivers a message once per matching subscription, so a node subscribed to `a.*` and `a.>`
 * gets two copies of a publication on `a.b`. Each live message carries its sender's stamp (node,
 * incarnation, counter increasing in send order), and NATS keeps one sender's messages in order on
 * one connection: ClusterAdapterBase.receive drops the echo and the extra copies by that stamp.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Received } from '../../core/plugin.js';
import { unpack, type LiveEnvelope } from './envelope.js';
import type { Subjects } from './subjects.js';

export class Interest {
  private readonly nc: NatsConnection;
  private readonly subjects: Subjects;
  private readonly logger: Logger;
  private readonly receive: (message: Received) => void;
  private readonly subs = new Map<string, Subscription>();
  /** Live messages that could not be decoded (tests and metrics). */
  readonly counts = { undecodable: 0 };

  constructor(nc: NatsConnection, subjects: Subjects, logger: Logger, receive: (message: Received) => void) {
    this.nc = nc;
    this.subjects = subjects;
    this.logger = logger;
    this.receive = receive;
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
    let env: LiveEnvelope;
    try {
      env = unpack<LiveEnvelope>(msg.data);
    } catch (err) {
      this.counts.undecodable++;
      this.logger.warn({ err, subject: msg.subject }, 'undecodable live publication dropped');
      return;
    }
    const stored = env.s === undefined ? {} : { offset: env.s, epoch: env.e };
    this.receive({ origin: env.o, incarnation: env.i, n: env.n, topic: this.subjects.topicOfLive(msg.subject), data: env.d, ...stored });
  }

  close(): void {
    for (const sub of this.subs.values()) sub.unsubscribe();
    this.subs.clear();
  }
}
