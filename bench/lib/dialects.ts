/**
 * What load clients say on the wire to each kind of server: how to subscribe, how to publish, how to
 * tell when a subscription is live, and how many messages (and which send stamps) a frame carries.
 *
 * Payloads carry the publisher's intended send time as `@<µs>|` (process.hrtime: CLOCK_MONOTONIC,
 * shared by every process on the box), so subscribers measure end-to-end latency.
 */
import { clientFrame, OP } from './ws-wire.js';

export type DialectName = 'herald' | 'nats' | 'socketio';

export interface SubscriberState {
  ready: boolean;
  /** Bytes of a NATS protocol stream not parsed yet. */
  carry?: string;
  /** The topic to subscribe to once the server is ready for it (socket.io namespaces). */
  topic?: string;
}

export interface Dialect {
  readonly path: string;
  readonly protocol?: string;
  /** Frames parsed for readiness need their payload even when latency is not measured. */
  readonly alwaysPayload: boolean;
  subscribeFrames(topic: string, state: SubscriberState): Buffer;
  /** Frames a publisher sends once after connecting. */
  publisherHello(): Buffer | undefined;
  publishFrame(topic: string, data: string): Buffer;
  /**
   * Consumes one data frame: returns how many messages it delivered, calling `stamp` with the send
   * stamp of each when a payload is at hand; `reply` sends frames back (NATS PONG).
   */
  onFrame(state: SubscriberState, payload: Buffer | undefined, stamp: ((us: number) => void) | undefined, reply: (b: Buffer) => void): number;
}

const AT = 0x40;
const BAR = 0x7c;

/** Reads the `@<µs>|` stamp out of a payload; NaN when there is none. */
export function readStamp(buf: Buffer | string, from = 0): number {
  if (typeof buf === 'string') {
    const i = buf.indexOf('@', from);
    if (i < 0) return NaN;
    return Number(buf.slice(i + 1, buf.indexOf('|', i)));
  }
  const i = buf.indexOf(AT, from);
  if (i < 0) return NaN;
  let v = 0;
  for (let j = i + 1; j < buf.length; j++) {
    const c = buf[j]!;
    if (c === BAR) break;
    v = v * 10 + (c - 48);
  }
  return v;
}

/** Monotonic microseconds, comparable across processes on this machine. */
export function nowMicros(): number {
  const [s, ns] = process.hrtime();
  return s * 1e6 + Math.floor(ns / 1e3);
}

/** A payload of exactly `bytes` bytes (ASCII) carrying the stamp `us`. */
export function stampedPayload(us: number, bytes: number): string {
  const head = `@${us}|`;
  return bytes > head.length ? head + 'x'.repeat(bytes - head.length) : head;
}

/** Every server's publication frame starts so: `{"op":"msg","topic":…}`. */
const MSG_PUSH = Buffer.from('{"op":"msg"');
/** A socket.io `message` event on the bench namespace: `42/herald,["message",…]` after the engine.io type. */
const SIO_MESSAGE = Buffer.from('2/herald,["message"');

function startsWith(payload: Buffer, prefix: Buffer, at = 0): boolean {
  return payload.length >= at + prefix.length && payload.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0;
}

/** Herald protocol v1 (JSON), also spoken by the ws/uWS peers so every server gets the same load. */
export const heraldDialect: Dialect = {
  path: '/ws',
  protocol: 'herald.v1.json',
  alwaysPayload: false,
  subscribeFrames: (topic) => clientFrame(OP.text, JSON.stringify({ op: 'sub', id: 1, topic })),
  publisherHello: () => undefined,
  publishFrame: (topic, data) => clientFrame(OP.text, JSON.stringify({ op: 'pub', topic, data })),
  onFrame(state, payload, stamp) {
    // The first frame after `sub` is its reply; later, only `msg` pushes count as deliveries (not
    // an error, a presence push or any other reply a server might send).
    if (!state.ready) { state.ready = true; return 0; }
    if (payload === undefined || !startsWith(payload, MSG_PUSH)) return 0;
    if (stamp) stamp(readStamp(payload));
    return 1;
  },
};

/** NATS client protocol over nats-server's WebSocket listener (no TLS, no compression). */
export const natsDialect: Dialect = {
  path: '/',
  alwaysPayload: true,
  subscribeFrames: (topic) => clientFrame(OP.binary, `CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\nSUB ${topic} 1\r\nPING\r\n`),
  publisherHello: () => clientFrame(OP.binary, 'CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\n'),
  publishFrame: (topic, data) => clientFrame(OP.binary, `PUB ${topic} ${Buffer.byteLength(data)}\r\n${data}\r\n`),
  onFrame(state, payload, stamp, reply) {
    let text = (state.carry ?? '') + payload!.toString('latin1');
    let count = 0;
    let at = 0;
    for (;;) {
      const eol = text.indexOf('\r\n', at);
      if (eol < 0) break;
      const line = text.slice(at, eol);
      if (line.startsWith('MSG ')) {
        const size = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (text.length < eol + 2 + size + 2) break;
        if (stamp) stamp(readStamp(text.slice(eol + 2, eol + 2 + size)));
        count++;
        at = eol + 2 + size + 2;
        continue;
      }
      if (line === 'PING') reply(clientFrame(OP.binary, 'PONG\r\n'));
      else if (line === 'PONG') state.ready = true;
      else if (line.startsWith('-ERR')) throw new Error(`nats: ${line}`);
      at = eol + 2;
    }
    text = text.slice(at);
    state.carry = text.length > 0 ? text : undefined;
    return count;
  },
};

/** The socket.io namespace both socket.io servers (Herald's transport and the stock one) serve. */
export const SOCKETIO_NAMESPACE = '/herald';
const SIO_PREFIX = `${SOCKETIO_NAMESPACE},`;

/**
 * socket.io v5 protocol over engine.io v4's WebSocket transport (no polling): connect to the
 * namespace (`40/herald,`), then `subscribe` with an ack once connected; publications are `message`
 * events (`42/herald,["message",{…}]`). engine.io pings (`2`) get pongs (`3`).
 */
export const socketIoDialect: Dialect = {
  path: '/socket.io/?EIO=4&transport=websocket',
  alwaysPayload: true,
  subscribeFrames: (topic, state) => {
    state.topic = topic;
    return clientFrame(OP.text, `40${SIO_PREFIX}`);
  },
  publisherHello: () => clientFrame(OP.text, `40${SIO_PREFIX}`),
  publishFrame: (topic, data) => clientFrame(OP.text, `42${SIO_PREFIX}${JSON.stringify(['publish', topic, data])}`),
  onFrame(state, payload, stamp, reply) {
    const engineType = payload![0];
    if (engineType === 0x32) { reply(clientFrame(OP.text, '3')); return 0; } // ping
    if (engineType !== 0x34) return 0; // only engine.io `message` packets carry socket.io packets
    const sioType = payload![1];
    if (sioType === 0x32) { // EVENT: only `message` events are deliveries (not herald:close and the like)
      if (!startsWith(payload!, SIO_MESSAGE, 1)) return 0;
      if (stamp) stamp(readStamp(payload!));
      return 1;
    }
    // Events for a namespace the server has not finished connecting are dropped: subscribe after CONNECT.
    if (sioType === 0x30 && state.topic !== undefined) reply(clientFrame(OP.text, `42${SIO_PREFIX}1${JSON.stringify(['subscribe', state.topic])}`));
    else if (sioType === 0x33) state.ready = true; // the subscribe ack
    return 0;
  },
};

export const dialects: Record<DialectName, Dialect> = { herald: heraldDialect, nats: natsDialect, socketio: socketIoDialect };
