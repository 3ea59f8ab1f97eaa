/**
 * One MQTT connection (TCP or WebSocket). Packets are parsed and written by `mqtt-packet`; each one
 * becomes protocol v1 commands handed to the core session. Each command's reply comes back to its
 * reply callback (session.handle(raw, onReply)) with what the command was for (a Pending) and becomes
 * an MQTT packet (CONNACK, SUBACK, PUBACK...); a `ping` command sequences packets that need no core
 * work. The encoder only turns pushes and publications into packets.
 */
import { randomBytes } from 'node:crypto';
import mqttPacket, { type IConnectPacket, type IPublishPacket, type ISubscribePacket, type IUnsubscribePacket, type Packet } from 'mqtt-packet';
import { type Chunk, type Connection, type Encoder, matches, type Position, type Publication, type Reply, type ServerMessage, type SessionHandle } from '../../core/plugin.js';
import { dataFromPayload, payloadFromData } from './payload.js';
import { connackV4Of, Reason, reasonOf, reasonOfClose } from './reason-codes.js';
import type { FilterState, SessionState } from './store.js';
import { patternsFromMqtt, topicFromMqtt, topicToMqtt } from './topics.js';
import type { LiveClient, MqttContext, Will } from './context.js';

/** The byte stream under the connection: a TCP socket or a WebSocket. */
export interface Wire {
  write(bytes: Buffer): void;
  /** Ends the connection once what was written is sent. */
  end(): void;
  readonly writableLength: number;
  readonly remoteAddress: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

type Version = 4 | 5;

interface SubscribeState {
  readonly messageId: number;
  readonly filters: { filter: string; qos: 0 | 1; patterns: string[]; reason: number; rh: number; isNew: boolean }[];
  waiting: number;
}

/** What a command was sent for, carried to its reply callback. */
type Pending =
  | { kind: 'connect' }
  | { kind: 'publish'; packetId: number | undefined; qos: 0 | 1 | 2; retain: boolean; topic: string; empty: boolean }
  | { kind: 'subscribe'; state: SubscribeState; index: number; pattern: string }
  | { kind: 'unsuback'; messageId: number; reasons: number[] }
  | { kind: 'internal'; pattern?: string; will?: boolean };

const EMPTY = Buffer.alloc(0);
const PINGRESP = mqttPacket.generate({ cmd: 'pingresp' });

export class MqttClient implements Connection, LiveClient {
  version: Version = 4;
  clientId = '';
  session: SessionHandle | undefined;
  /** Set once CONNACK (success) is written. */
  connected = false;
  /** Milliseconds of silence allowed (1.5 × keepalive), 0 for none; checked by the transport's sweep. */
  silenceLimit = 0;
  lastSeen = Date.now();
  /** Set when the connection was over its IP's admission limits: its CONNECT is answered with this reason. */
  refusal: number | undefined;
  readonly openedAt = Date.now();
  private readonly parser = mqttPacket.parser();
  private readonly encoder: Encoder;
  private ended = false;
  private normalDisconnect = false;
  private sessionExpiry = 0;
  private clean = true;
  private resumed: SessionState | undefined;
  private will: Will | undefined;
  private connackProperties: Record<string, unknown> = {};
  /** Subscriptions by MQTT filter; QoS 1 ones counted so QoS 0 fan-out skips the lookup. */
  private filters = new Map<string, FilterState>();
  private qos1Filters = 0;
  /** Last position given (QoS 0) or acknowledged (QoS 1), per literal subscribed topic. */
  private positions = new Map<string, Position>();
  // Outbound QoS 1: unacknowledged deliveries by packet id, and those waiting for a free slot.
  private inflightMax: number;
  private readonly inflight = new Map<number, { topic: string; offset: number | undefined; epoch: string | undefined }>();
  private held: { pub: Publication; retain: boolean }[] = [];
  private heldBytes = 0;
  private nextPacketId = 0;
  /** Inbound QoS 2 publications acknowledged with PUBREC, waiting for PUBREL. */
  private readonly awaitingRelease = new Set<number>();
  /** Commands handed to the session whose reply callback has not run yet. */
  private awaitingReplies = 0;
  /**
   * What the session wrote while replies were outstanding, held back until this task ends: the
   * session writes its queue before each reply callback, and `answered` puts these bytes back in
   * front of its packet, so a turn's packets still go out in one write (16 pipelined QoS 1
   * publishes: 1 write with their PUBACKs, 16 without this).
   */
  private beforeReply: Buffer[] = [];
  private beforeReplyBytes = 0;

  constructor(private readonly context: MqttContext, readonly wire: Wire) {
    this.inflightMax = context.options.maxInflight;
    const client = this;
    this.encoder = {
      get key() { return `mqtt.v${client.version}`; },
      encode: (message) => this.push(message),
      publication: (pub) => this.deliver(pub, false),
    };
    this.parser.on('packet', (packet: Packet) => this.packet(packet));
    this.parser.on('error', () => this.refuse(Reason.malformedPacket, 'malformed packet'));
  }

  // ------------------------------------------------------------------ inbound bytes

  receive(bytes: Buffer): void {
    if (this.ended) return;
    this.lastSeen = Date.now();
    this.parser.parse(bytes);
    // The parser buffers a packet until it is whole: refuse one announced over the cap at once.
    const announced = (this.parser as unknown as { packet: { length: number } }).packet.length;
    if (!this.ended && announced > this.context.options.maxPacketSize) this.refuse(Reason.packetTooLarge, 'packet too large');
  }

  private packet(packet: Packet): void {
    if (this.ended) return;
    if ((packet.length ?? 0) > this.context.options.maxPacketSize) {
      this.refuse(Reason.packetTooLarge, 'packet too large');
      return;
    }
    if (this.session === undefined) {
      if (packet.cmd === 'connect') this.connect(packet);
      else this.refuse(Reason.protocolError, 'the first packet must be CONNECT');
      return;
    }
    switch (packet.cmd) {
      case 'publish': return this.publish(packet);
      case 'puback': return this.acknowledged(packet.messageId!);
      case 'pubrel': return this.released(packet.messageId!);
      case 'subscribe': return this.subscribe(packet);
      case 'unsubscribe': return this.unsubscribe(packet);
      case 'pingreq': this.send(PINGRESP); return;
      case 'disconnect': return this.clientDisconnect(packet.reasonCode ?? 0, packet.properties?.sessionExpiryInterval);
      default:
        // A second CONNECT, AUTH, or packets only a server sends.
        this.refuse(Reason.protocolError, `unexpected ${packet.cmd}`);
    }
  }

  // ------------------------------------------------------------------ CONNECT

  private connect(packet: IConnectPacket): void {
    const { options } = this.context;
    if (packet.protocolVersion !== 4 && packet.protocolVersion !== 5) {
      this.connack(Reason.unsupportedProtocolVersion);
      return;
    }
    this.version = packet.protocolVersion;
    if (this.version === 5) (this.parser as unknown as { settings: { protocolVersion: number } }).settings.protocolVersion = 5;
    if (this.refusal !== undefined) {
      this.connack(this.refusal);
      return;
    }
    if (packet.properties?.authenticationMethod !== undefined) {
      this.connack(0x8c); // Bad authentication method: enhanced (AUTH) authentication is not offered
      return;
    }
    const clean = packet.clean !== false;
    const properties: Record<string, unknown> = {};
    let clientId = packet.clientId;
    if (clientId === '') {
      if (this.version === 4 && !clean) {
        this.connack(Reason.clientIdentifierNotValid);
        return;
      }
      clientId = `herald-${randomBytes(9).toString('base64url')}`;
      if (this.version === 5) properties.assignedClientIdentifier = clientId;
    }
    this.clientId = clientId;
    // Session expiry: 5.0 asks for it; a 3.1.1 persistent session keeps it as long as allowed.
    const asked = this.version === 5 ? (packet.properties?.sessionExpiryInterval ?? 0) : (clean ? 0 : options.maxSessionExpiry);
    this.sessionExpiry = Math.min(asked, options.maxSessionExpiry);
    if (this.version === 5 && asked > this.sessionExpiry) properties.sessionExpiryInterval = this.sessionExpiry;
    const keepalive = packet.keepalive ?? 0;
    const granted = keepalive === 0 || keepalive > options.maxKeepalive ? options.maxKeepalive : keepalive;
    if (this.version === 5 && granted !== keepalive) properties.serverKeepAlive = granted;
    this.silenceLimit = granted * 1500;
    if (this.version === 5) {
      this.inflightMax = Math.min(options.maxInflight, packet.properties?.receiveMaximum ?? 65_535);
      properties.receiveMaximum = options.maxInflight;
      properties.maximumPacketSize = options.maxPacketSize;
      properties.topicAliasMaximum = 0;
      properties.wildcardSubscriptionAvailable = true;
      properties.sharedSubscriptionAvailable = false;
      properties.subscriptionIdentifiersAvailable = false;
      properties.retainAvailable = true;
    }
    if (packet.will) {
      const topic = topicFromMqtt(packet.will.topic);
      if (topic === undefined) {
        this.connack(Reason.topicNameInvalid);
        return;
      }
      if (packet.will.retain && !this.context.keepsHistory(topic)) {
        this.connack(Reason.retainNotSupported);
        return;
      }
      const payload = typeof packet.will.payload === 'string' ? Buffer.from(packet.will.payload) : packet.will.payload;
      this.will = {
        topic, data: dataFromPayload(payload), retain: packet.will.retain === true,
        delay: Math.min(packet.will.properties?.willDelayInterval ?? 0, this.sessionExpiry),
      };
    }
    this.clean = clean;
    const query = new URLSearchParams();
    if (packet.username !== undefined) query.set('username', packet.username);
    this.session = this.context.host.open(this, {
      transport: 'mqtt',
      remoteAddress: this.wire.remoteAddress,
      headers: this.wire.headers as Record<string, string>,
      query,
      token: packet.password && packet.password.length > 0 ? packet.password.toString('utf8') : undefined,
      // MQTT has no later auth command (AUTH is enhanced authentication, not offered).
      canSendAuth: false,
    }, this.encoder);
    this.connackProperties = properties;
    // Answered once authentication settled: the reply becomes the CONNACK (see accepted()).
    this.command({ kind: 'connect' }, { op: 'ping' });
  }

  /**
   * Credentials passed: only now is the client id this connection's (an older connection with it
   * is taken over; a refused CONNECT must not kick anyone), then CONNACK, then the kept session's
   * subscriptions are made again with `since` their last position, so history replays what it missed.
   */
  private accepted(): void {
    this.context.claim(this);
    const kept = this.context.store.take(this.clientId);
    this.resumed = this.clean ? undefined : kept;
    this.connack(Reason.success);
    const resumed = this.resumed;
    if (resumed === undefined) return;
    this.positions = resumed.positions;
    for (const [filter, state] of resumed.filters) {
      this.addFilter(filter, state);
      for (const pattern of state.patterns) this.command({ kind: 'internal', pattern }, { op: 'sub', topic: pattern, since: this.positions.get(pattern) });
    }
  }

  private connack(reason: number): void {
    const packet: Record<string, unknown> = { cmd: 'connack', sessionPresent: reason === Reason.success && this.resumed !== undefined };
    if (this.version === 5) {
      packet.reasonCode = reason;
      if (reason === Reason.success && Object.keys(this.connackProperties).length > 0) packet.properties = this.connackProperties;
    } else packet.returnCode = connackV4Of(reason);
    if (reason === Reason.success) {
      this.connected = true;
      this.send(this.generate(packet));
      return;
    }
    this.send(this.generate(packet));
    this.end();
  }

  // ------------------------------------------------------------------ PUBLISH in

  private publish(packet: IPublishPacket): void {
    const { qos, messageId } = packet;
    const topic = topicFromMqtt(packet.topic);
    if (topic === undefined) return this.publishRefused(qos, messageId, Reason.topicNameInvalid, 'topic name has no Herald form');
    if (qos === 2 && this.awaitingRelease.has(messageId!)) {
      // A retransmission of a publication already accepted: acknowledge again, publish once.
      this.send(this.generate({ cmd: 'pubrec', messageId }));
      return;
    }
    if (packet.retain && !this.context.keepsHistory(topic)) {
      return this.publishRefused(qos, messageId, Reason.retainNotSupported, 'retain needs a topic that keeps history');
    }
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    this.command(
      { kind: 'publish', packetId: messageId, qos, retain: packet.retain, topic, empty: payload.length === 0 },
      { op: 'pub', topic, data: dataFromPayload(payload) },
    );
  }

  /** A publication that cannot be taken: a reason in its acknowledgement (5.0, QoS > 0), else a disconnect. */
  private publishRefused(qos: number, messageId: number | undefined, reason: number, why: string): void {
    if (this.version === 5 && qos > 0) {
      // PUBACK and PUBREC have no "retain not supported": the 5.0 spec has it in DISCONNECT only.
      const code = reason === Reason.retainNotSupported ? Reason.implementationSpecific : reason;
      this.send(this.generate({ cmd: qos === 1 ? 'puback' : 'pubrec', messageId, reasonCode: code, properties: { reasonString: why } }));
      return;
    }
    this.refuse(reason, why);
  }

  private released(messageId: number): void {
    const known = this.awaitingRelease.delete(messageId);
    this.send(this.generate({ cmd: 'pubcomp', messageId, reasonCode: known ? 0 : 0x92 }));
  }

  // ------------------------------------------------------------------ SUBSCRIBE / UNSUBSCRIBE

  private subscribe(packet: ISubscribePacket): void {
    const state: SubscribeState = { messageId: packet.messageId!, filters: [], waiting: 0 };
    for (const s of packet.subscriptions) {
      const qos: 0 | 1 = s.qos === 0 ? 0 : 1; // QoS 2 is granted as 1
      const shared = s.topic.startsWith('$share/');
      const patterns = shared ? undefined : patternsFromMqtt(s.topic);
      const reason = shared ? Reason.sharedSubscriptionsNotSupported : patterns === undefined ? Reason.topicFilterInvalid : qos;
      state.filters.push({ filter: s.topic, qos, patterns: patterns ?? [], reason, rh: s.rh ?? 0, isNew: !this.filters.has(s.topic) });
    }
    // Every filter's commands go out before any reply can count the batch down to zero.
    state.waiting = state.filters.reduce((n, f) => n + (f.reason > 1 ? 0 : f.patterns.length), 0) + 1;
    state.filters.forEach((f, index) => {
      if (f.reason > 1) return;
      for (const pattern of f.patterns) this.command({ kind: 'subscribe', state, index, pattern }, { op: 'sub', topic: pattern });
    });
    this.command({ kind: 'subscribe', state, index: -1, pattern: '' }, { op: 'ping' });
  }

  /** A SUBSCRIBE whose commands are all answered: filters in force, the SUBACK, then retained messages. */
  private subscribed(state: SubscribeState): Buffer {
    const granted: number[] = [];
    for (const f of state.filters) {
      if (f.reason <= 1) {
        this.addFilter(f.filter, { qos: f.qos, patterns: f.patterns });
        if (f.rh === 0 || (f.rh === 1 && f.isNew)) void this.sendRetained(f.patterns, f.qos);
      } else {
        // Half of `a/#` may have been granted: take it back, the filter is refused as a whole.
        for (const pattern of f.patterns) if (!this.patternInUse(pattern)) this.command({ kind: 'internal' }, { op: 'unsub', topic: pattern });
      }
      granted.push(this.version === 4 && f.reason > 1 ? 0x80 : f.reason);
    }
    return this.generate({ cmd: 'suback', messageId: state.messageId, granted });
  }

  private unsubscribe(packet: IUnsubscribePacket): void {
    const reasons: number[] = [];
    for (const filter of packet.unsubscriptions) {
      const state = this.filters.get(filter);
      reasons.push(state === undefined ? 0x11 : 0); // 0x11: no subscription existed
      if (state === undefined) continue;
      this.removeFilter(filter, state);
      for (const pattern of state.patterns) {
        if (this.patternInUse(pattern)) continue;
        this.positions.delete(pattern);
        this.command({ kind: 'internal' }, { op: 'unsub', topic: pattern });
      }
    }
    this.command({ kind: 'unsuback', messageId: packet.messageId!, reasons }, { op: 'ping' });
  }

  private addFilter(filter: string, state: FilterState): void {
    const old = this.filters.get(filter);
    if (old?.qos === 1) this.qos1Filters--;
    this.filters.set(filter, state);
    if (state.qos === 1) this.qos1Filters++;
  }

  private removeFilter(filter: string, state: FilterState): void {
    this.filters.delete(filter);
    if (state.qos === 1) this.qos1Filters--;
  }

  /** Another filter still needs this Herald pattern (`a/#` and `a` both hold `a`). */
  private patternInUse(pattern: string): boolean {
    for (const state of this.filters.values()) if (state.patterns.includes(pattern)) return true;
    return false;
  }

  /** Retained messages of the topics a new subscription matches, read back from their history. */
  private async sendRetained(patterns: readonly string[], qos: 0 | 1): Promise<void> {
    const { retained, host } = this.context;
    const found = retained.matching((topic) => patterns.some((p) => matches(p, topic)));
    for (const [topic, position] of found) {
      let pub: Publication | undefined;
      try {
        const result = await host.broker.history(topic, { since: { offset: position.offset - 1, epoch: position.epoch } });
        pub = result.publications.find((p) => p.offset === position.offset && p.epoch === position.epoch);
      } catch {
        pub = undefined;
      }
      if (this.ended || this.session?.isClosed) return;
      // Gone from history (evicted, expired, epoch changed): nothing is retained any more.
      if (pub === undefined) retained.delete(topic, position);
      else this.send(this.outbound(pub, true, qos) ?? EMPTY);
    }
  }

  // ------------------------------------------------------------------ core commands and replies

  /** Hands a command to the core session; its reply comes to `answered` with what it was for. */
  private command(pending: Pending, command: Record<string, unknown>): void {
    this.awaitingReplies++;
    this.session!.handle(command, (reply) => this.answered(pending, reply));
  }

  /**
   * A command's reply, as the packet that answers the client (undefined when it has none). The
   * session calls this once what was queued before the reply is written, and queues the packet.
   */
  private answered(pending: Pending, reply: Reply): Buffer | undefined {
    this.awaitingReplies--;
    let packet: Buffer | undefined;
    try {
      packet = reply.ok ? this.succeeded(pending, reply) : this.failed(pending, reply.error.code);
    } catch (err) {
      // A packet mqtt-packet refuses to write is our bug: end this connection, never the process.
      this.context.host.logger.error({ err, client: this.clientId }, 'mqtt reply could not be written');
      this.end();
      return undefined;
    }
    if (this.beforeReply.length === 0) return packet;
    // What the session wrote just before this callback goes back in the queue, ahead of the packet.
    const chunks = this.takeBeforeReply();
    if (packet !== undefined) chunks.push(packet);
    return Buffer.concat(chunks);
  }

  private takeBeforeReply(): Buffer[] {
    const chunks = this.beforeReply;
    this.beforeReply = [];
    this.beforeReplyBytes = 0;
    return chunks;
  }

  /** Writes what was held back for a reply that did not take it (at the end of the task, or before a direct write). */
  private readonly writeBeforeReply = (): void => {
    if (this.beforeReply.length === 0) return;
    const bytes = Buffer.concat(this.takeBeforeReply());
    if (!this.ended) this.wire.write(bytes);
  };

  /** A packet written outside the session's queue, after everything the session wrote. */
  private send(bytes: Buffer): void {
    this.writeBeforeReply();
    this.wire.write(bytes);
  }

  /** A push from the core session, as this connection's MQTT packet (empty when it has none). */
  private push(message: ServerMessage): Chunk {
    // Commands reach the session without ids (their replies go to `answered`): a reply here is a bug.
    if ('id' in message) throw new TypeError('MQTT replies go to answered(), not through the encoder');
    if (message.op === 'unsub' && message.reason === 'gap') {
      // Publications may have been missed on this pattern: re-subscribe from the last position
      // given, as other clients do; history replays what it still holds.
      const pattern = message.topic;
      if (this.patternInUse(pattern)) this.command({ kind: 'internal', pattern }, { op: 'sub', topic: pattern, since: this.positions.get(pattern) });
    } else if (message.op === 'unsub') {
      // Dropped by the server (grants changed, broker.unsubscribe): MQTT has no packet for it, but
      // the filters holding it are gone, so a resumed session does not make them again.
      for (const [filter, state] of [...this.filters]) if (state.patterns.includes(message.topic)) this.removeFilter(filter, state);
      this.positions.delete(message.topic);
    }
    return EMPTY; // presence events, uncorrelated errors: MQTT has no packet for them
  }

  private succeeded(pending: Pending, message: Record<string, unknown>): Buffer | undefined {
    switch (pending.kind) {
      case 'connect':
        this.accepted();
        return undefined;
      case 'publish': {
        const { offset, epoch } = message as { offset?: number; epoch?: string };
        if (pending.retain) {
          if (pending.empty) this.context.retained.delete(pending.topic);
          else if (offset !== undefined) this.context.retained.set(pending.topic, { offset, epoch: epoch! });
        }
        if (pending.qos === 1) return this.generate({ cmd: 'puback', messageId: pending.packetId });
        if (pending.qos === 2) {
          this.awaitingRelease.add(pending.packetId!);
          return this.generate({ cmd: 'pubrec', messageId: pending.packetId });
        }
        return undefined;
      }
      case 'subscribe':
        if (pending.index >= 0) this.remember(pending.pattern, message);
        return --pending.state.waiting === 0 ? this.subscribed(pending.state) : undefined;
      case 'unsuback':
        return this.generate(this.version === 5
          ? { cmd: 'unsuback', messageId: pending.messageId, granted: pending.reasons }
          : { cmd: 'unsuback', messageId: pending.messageId });
      case 'internal':
        if (pending.pattern !== undefined) this.remember(pending.pattern, message);
        return undefined;
    }
  }

  /** A subscribe reply's position becomes the resume point of a literal topic not yet given anything (or that could not recover). */
  private remember(pattern: string, message: Record<string, unknown>): void {
    const { offset, epoch, recovered } = message as { offset?: number; epoch?: string; recovered?: boolean };
    if (offset === undefined) return;
    if (!this.positions.has(pattern) || recovered === false) this.positions.set(pattern, { offset, epoch: epoch! });
  }

  private failed(pending: Pending, code: string): Buffer | undefined {
    switch (pending.kind) {
      case 'publish':
        this.publishRefused(pending.qos, pending.packetId, reasonOf(code, 'publish'), code);
        return undefined;
      case 'subscribe': {
        if (pending.index >= 0) {
          const f = pending.state.filters[pending.index]!;
          // `a/#` also names `a`; grants covering only `a.>` still allow the filter, on `a.>` alone.
          if (code === 'forbidden' && f.patterns.length === 2 && pending.pattern === f.patterns[1]) f.patterns = [f.patterns[0]!];
          else if (f.reason <= 1) f.reason = reasonOf(code, 'subscribe');
        }
        return --pending.state.waiting === 0 ? this.subscribed(pending.state) : undefined;
      }
      default:
        // A resumed subscription refused (grants changed since): the session goes on without it.
        return undefined;
    }
  }

  // ------------------------------------------------------------------ PUBLISH out

  /** Highest QoS granted among the filters matching `topic`. */
  private qosFor(topic: string): 0 | 1 {
    if (this.qos1Filters === 0) return 0;
    for (const state of this.filters.values()) {
      if (state.qos === 1 && state.patterns.some((p) => matches(p, topic))) return 1;
    }
    return 0;
  }

  private deliver(pub: Publication, retain: boolean): Chunk {
    return this.outbound(pub, retain, this.qosFor(pub.topic)) ?? EMPTY;
  }

  /** The PUBLISH for `pub`, or undefined when it waits for a free QoS 1 slot. */
  private outbound(pub: Publication, retain: boolean, qos: 0 | 1): Buffer | undefined {
    if (qos === 0) {
      if (pub.offset !== undefined && this.positions.has(pub.topic)) this.positions.set(pub.topic, { offset: pub.offset, epoch: pub.epoch! });
      if (retain) return this.generate(publishPacket(pub, 0, retain));
      // The same bytes for every QoS 0 subscriber of this protocol version.
      return pub.encoded(`mqtt.v${this.version}.q0`, (p) => this.generate(publishPacket(p, 0, false))) as Buffer;
    }
    if (this.held.length > 0 || this.inflight.size >= this.inflightMax) {
      this.held.push({ pub, retain });
      this.heldBytes += payloadSize(pub);
      return undefined;
    }
    return this.generate(publishPacket(pub, this.assignPacketId(pub), retain));
  }

  private assignPacketId(pub: Publication): number {
    do this.nextPacketId = (this.nextPacketId % 65_535) + 1;
    while (this.inflight.has(this.nextPacketId));
    this.inflight.set(this.nextPacketId, { topic: pub.topic, offset: pub.offset, epoch: pub.epoch });
    return this.nextPacketId;
  }

  /** PUBACK for a QoS 1 delivery: the topic's resume point moves, and a held delivery takes the slot. */
  private acknowledged(packetId: number): void {
    const sent = this.inflight.get(packetId);
    if (sent === undefined) return;
    this.inflight.delete(packetId);
    if (sent.offset !== undefined && this.positions.has(sent.topic)) this.positions.set(sent.topic, { offset: sent.offset, epoch: sent.epoch! });
    while (this.held.length > 0 && this.inflight.size < this.inflightMax) {
      const { pub, retain } = this.held.shift()!;
      this.heldBytes -= payloadSize(pub);
      this.send(this.generate(publishPacket(pub, this.assignPacketId(pub), retain)));
    }
  }

  private generate(packet: Record<string, unknown>): Buffer {
    return mqttPacket.generate(packet as unknown as Packet, { protocolVersion: this.version });
  }

  // ------------------------------------------------------------------ Connection (for the core session)

  write(chunks: Chunk[]): void {
    if (this.ended) return;
    if (this.awaitingReplies > 0) {
      // A reply callback may follow at once (see beforeReply); clients with no command out write directly.
      if (this.beforeReply.length === 0) queueMicrotask(this.writeBeforeReply);
      for (const chunk of chunks as Buffer[]) {
        if (chunk.length === 0) continue;
        this.beforeReply.push(chunk);
        this.beforeReplyBytes += chunk.length;
      }
      return;
    }
    if (chunks.length === 1) {
      if (chunks[0]!.length > 0) this.wire.write(chunks[0] as Buffer);
      return;
    }
    // One write (one WebSocket message) per turn; MQTT packets need not align with frames.
    const bytes = Buffer.concat(chunks as Buffer[]);
    if (bytes.length > 0) this.wire.write(bytes);
  }

  /** The session closes: CONNACK with a reason before it was accepted, DISCONNECT (5.0) after. */
  close(code: number, _reason: string): void {
    if (this.ended) return;
    if (!this.connected) {
      this.connack(reasonOfClose(code, false));
      return;
    }
    if (this.version === 5) this.send(this.generate({ cmd: 'disconnect', reasonCode: reasonOfClose(code, true) }));
    this.end();
  }

  /** Held QoS 1 deliveries count with the socket's buffer against the session's outbound byte cap. */
  get bufferedAmount(): number {
    return this.wire.writableLength + this.heldBytes + this.beforeReplyBytes;
  }

  // ------------------------------------------------------------------ endings

  /** A violation or a refusal: the reason in DISCONNECT (5.0; CONNACK before CONNECT was accepted), then the connection ends. */
  refuse(reason: number, why: string): void {
    if (this.ended) return;
    if (this.session !== undefined && !this.connected) {
      this.connack(reason);
      return;
    }
    if (this.version === 5 && this.connected) {
      this.send(this.generate({ cmd: 'disconnect', reasonCode: reason, properties: { reasonString: why } }));
    }
    this.end();
  }

  private clientDisconnect(reason: number, sessionExpiry: number | undefined): void {
    // 0x04: "disconnect with Will message"; any other reason is a normal end.
    this.normalDisconnect = reason !== 0x04;
    if (sessionExpiry !== undefined && this.sessionExpiry > 0) this.sessionExpiry = Math.min(sessionExpiry, this.context.options.maxSessionExpiry);
    this.end();
  }

  /** Another connection took this client id: it gets DISCONNECT 0x8E (5.0) and this session's state. */
  takenOver(): void {
    if (this.version === 5 && this.connected) this.send(this.generate({ cmd: 'disconnect', reasonCode: Reason.sessionTakenOver }));
    this.end();
  }

  /** Ends the connection now; the state is kept (persistent session) and the Will published. Idempotent. */
  end(): void {
    if (this.ended) return;
    this.writeBeforeReply();
    this.ended = true;
    this.wire.end();
    this.gone();
  }

  /** The wire closed (by either side). */
  gone(): void {
    this.ended = true;
    const session = this.session;
    if (session === undefined) return;
    this.session = undefined;
    this.context.release(this);
    session.disconnected(this.normalDisconnect ? 1000 : 1006);
    if (this.connected && this.sessionExpiry > 0) {
      this.context.store.keep(this.clientId, { filters: this.filters, positions: this.positions }, this.sessionExpiry);
    }
    if (this.will !== undefined && !this.normalDisconnect && session.principal !== undefined) {
      this.context.publishWill(this.clientId, session.principal, this.will);
    }
    this.held = [];
    this.heldBytes = 0;
    this.takeBeforeReply();
  }
}

function publishPacket(pub: Publication, messageId: number, retain: boolean): Record<string, unknown> {
  return { cmd: 'publish', topic: topicToMqtt(pub.topic), payload: pub.encoded('mqtt.payload', (p) => payloadFromData(p.data)), qos: messageId === 0 ? 0 : 1, messageId: messageId === 0 ? undefined : messageId, retain, dup: false };
}

function payloadSize(pub: Publication): number {
  return (pub.encoded('mqtt.payload', (p) => payloadFromData(p.data)) as Buffer).length + pub.topic.length + 8;
}
