/**
 * MQTT load-client child: holds many MQTT 3.1.1 subscribers over TCP (grouped by tag, spread over
 * 127.0.0.x source addresses), counts the PUBLISH packets they receive, and drives one publisher
 * per tag in bursts. Packets are counted by their fixed header only (type and length), so a
 * subscriber costs the load CPU almost nothing per message whatever the server.
 */
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { serve } from './child-runtime.js';
import { sleep } from './stats.js';
import type { ConnectParams } from './load-client.js';

const PUBLISH = 3;
const SUBACK = 9;
const CONNACK = 2;
/** Keepalive announced (seconds); a PINGREQ goes out at half of it, so no server drops an idle subscriber. */
const KEEPALIVE = 60;

interface Group { sockets: Socket[]; received: number }
const groups = new Map<string, Group>();
const publishers = new Map<string, Socket>();
const PINGREQ = mqttPacket.generate({ cmd: 'pingreq' } as Packet);
setInterval(() => {
  for (const g of groups.values()) for (const s of g.sockets) s.write(PINGREQ);
  for (const s of publishers.values()) s.write(PINGREQ);
}, (KEEPALIVE / 2) * 1000).unref();

/** Calls `onPacket(type)` for each whole packet of an MQTT byte stream, reading only fixed headers. */
function packetScanner(onPacket: (type: number) => void): (bytes: Buffer) => void {
  let skip = 0;
  let type = -1;
  let length = 0;
  let multiplier = 1;
  return (bytes) => {
    let i = 0;
    while (i < bytes.length) {
      if (skip > 0) {
        const n = Math.min(skip, bytes.length - i);
        skip -= n;
        i += n;
        continue;
      }
      const b = bytes[i++]!;
      if (type === -1) { type = b >> 4; length = 0; multiplier = 1; continue; }
      length += (b & 0x7f) * multiplier;
      multiplier *= 128;
      if ((b & 0x80) === 0) {
        onPacket(type);
        skip = length;
        type = -1;
      }
    }
  };
}

function open(host: string, port: number, localAddress: string, clientId: string, onPacket: (type: number) => void): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, localAddress });
    socket.setNoDelay(true);
    let connected = false;
    socket.on('data', packetScanner((type) => {
      if (type === CONNACK && !connected) { connected = true; resolve(socket); }
      onPacket(type);
    }));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: true, keepalive: KEEPALIVE } as Packet));
    });
  });
}

/** The WebSocket load client's connect parameters, with MQTT as the only dialect. */
export type MqttConnectParams = Omit<ConnectParams, 'dialect'>;

async function connectGroup(p: MqttConnectParams): Promise<{ connected: number }> {
  const group: Group = groups.get(p.tag) ?? { sockets: [], received: 0 };
  groups.set(p.tag, group);
  let next = 0;
  const one = async (i: number): Promise<void> => {
    let subscribed: () => void = () => undefined;
    const suback = new Promise<void>((r) => { subscribed = r; });
    const socket = await open(p.host, p.port, `127.0.0.${p.sourceFirst + (i % p.sourceCount)}`, `${p.tag}-${process.pid}-${i}`, (type) => {
      if (type === PUBLISH) group.received++;
      else if (type === SUBACK) subscribed();
    });
    socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: p.topic, qos: 0 }] } as Packet));
    await suback;
    group.sockets.push(socket);
  };
  const workers = Array.from({ length: Math.min(p.concurrency ?? 50, p.count) }, async () => {
    while (next < p.count) await one(next++);
  });
  await Promise.all(workers);
  return { connected: group.sockets.length };
}

export interface MqttBurstParams {
  tag: string;
  host: string;
  port: number;
  topic: string;
  bursts: number;
  burstSize: number;
  gapMs: number;
  payloadBytes: number;
}

/** Publishes `bursts` × `burstSize` QoS 0 messages, each burst in one write, `gapMs` apart. */
async function burst(p: MqttBurstParams): Promise<{ published: number }> {
  let socket = publishers.get(p.tag);
  if (socket === undefined) {
    socket = await open(p.host, p.port, '127.0.0.2', `${p.tag}-publisher-${process.pid}`, () => undefined);
    publishers.set(p.tag, socket);
  }
  const one = mqttPacket.generate({ cmd: 'publish', topic: p.topic, payload: Buffer.from('x'.repeat(p.payloadBytes)), qos: 0, retain: false, dup: false } as Packet);
  const frames = Buffer.concat(Array.from({ length: p.burstSize }, () => one));
  for (let b = 0; b < p.bursts; b++) {
    socket.write(frames);
    await sleep(p.gapMs);
  }
  return { published: p.bursts * p.burstSize };
}

serve({
  connect: connectGroup,
  burst,
  counts: ({ tags }: { tags: string[] }) => Object.fromEntries(tags.map((t) => [t, groups.get(t)?.received ?? 0])),
}, () => {
  for (const g of groups.values()) for (const s of g.sockets) s.destroy();
  for (const s of publishers.values()) s.destroy();
});
