/**
 * Control commands between nodes (core/control.ts) on `<prefix>._c`: a node sends the command once
 * and every other node runs it on its sessions and answers on the reply inbox. The sender waits for
 * as many answers as it knows live nodes (from presence heartbeats), at most `requestTimeoutMs`; a
 * node that does not answer in time is left out of the result, never waited for forever.
 */
import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { type AdapterNode, type ControlCommand, HeraldError, type NodeControlReply, parseControlCommand } from '../../core/plugin.js';
import { pack, unpack } from './envelope.js';

export class ControlChannel {
  private readonly nc: NatsConnection;
  private readonly subject: string;
  private readonly node: AdapterNode;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly peers: () => number;
  private sub: Subscription | undefined;

  constructor(nc: NatsConnection, subject: string, node: AdapterNode, logger: Logger, timeoutMs: number, peers: () => number) {
    this.nc = nc;
    this.subject = subject;
    this.node = node;
    this.logger = logger;
    this.timeoutMs = timeoutMs;
    this.peers = peers;
  }

  start(): void {
    this.sub = this.nc.subscribe(this.subject, { callback: (err, msg) => { if (!err) void this.answer(msg); } });
  }

  private async answer(msg: Msg): Promise<void> {
    let reply: NodeControlReply | { node: string; error: string };
    try {
      reply = await this.node.control(parseControlCommand(unpack(msg.data)));
    } catch (err) {
      this.logger.warn({ err }, 'control command from another node failed');
      reply = { node: this.node.id, error: (err as Error).message };
    }
    try { msg.respond(pack(reply)); } catch (err) { this.logger.debug({ err }, 'control reply not sent'); }
  }

  /** Runs the command here and on every other node; resolves with the replies that came in time. */
  async gather(command: ControlCommand, connected: boolean): Promise<NodeControlReply[]> {
    const expected = this.peers();
    // Refused before anything ran: a caller that retries later does not act twice on this node alone.
    if (expected > 0 && !connected) throw new HeraldError('unavailable', 'the cluster (NATS) is unreachable: retry later');
    const local = this.node.control(command);
    const replies: NodeControlReply[] = [];
    if (expected > 0) {
      try {
        const answers = await this.nc.requestMany(this.subject, pack(command), { strategy: 'count', maxMessages: expected, maxWait: this.timeoutMs });
        for await (const msg of answers) {
          try {
            const r = unpack<NodeControlReply & { error?: string }>(msg.data);
            if (r.error === undefined) replies.push(r);
          } catch { /* a status message (no responders), not an answer */ }
        }
      } catch (err) {
        this.logger.debug({ err }, 'control request ended early');
      }
    }
    return [await local, ...replies];
  }

  close(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
  }
}
