/** Real MQTT clients for tests: mqtt.js connections closed after each test, and a raw packet-level socket. */
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import { afterEach } from 'vitest';
import { until } from './broker.js';

const open: { end(force?: boolean): unknown }[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.end(true);
});

export interface Received { topic: string; payload: string; retain: boolean; qos: number }

/**
 * An mqtt.js client, connected (rejects on a refused CONNACK), that never reconnects by itself.
 * `got` collects messages from the start: a resumed session's first ones come with the CONNACK.
 */
export async function connectMqtt(url: string, options: IClientOptions = {}): Promise<MqttClient & { connack: IConnackPacket; got: Received[] }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options }) as MqttClient & { connack: IConnackPacket; got: Received[] };
  client.got = [];
  client.on('message', (topic, payload, packet) => client.got.push({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos }));
  open.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', (connack) => { client.connack = connack; resolve(); });
    client.once('error', reject);
    client.once('close', () => reject(new Error('closed before CONNACK')));
  });
  return client;
}

/** A TCP socket speaking MQTT packet by packet: what a misbehaving or minimal device sends. */
export class RawMqtt {
  readonly packets: Packet[] = [];
  closed = false;
  private readonly parser;
  private constructor(readonly socket: Socket, version: 4 | 5) {
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on('packet', (p: Packet) => this.packets.push(p));
    socket.on('data', (b: Buffer) => this.parser.parse(b));
    socket.on('close', () => { this.closed = true; });
    socket.on('error', () => undefined);
  }

  static async open(port: number, version: 4 | 5 = 5): Promise<RawMqtt> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const raw = new RawMqtt(socket, version);
    open.push({ end: () => socket.destroy() });
    return raw;
  }

  send(packet: Record<string, unknown>, version: 4 | 5 = 5): void {
    this.socket.write(mqttPacket.generate(packet as unknown as Packet, { protocolVersion: version }));
  }

  async next(cmd: string, what = cmd): Promise<Packet & Record<string, any>> {
    await until(() => this.packets.some((p) => p.cmd === cmd), what);
    return this.packets.find((p) => p.cmd === cmd)! as Packet & Record<string, any>;
  }

  async waitClosed(what = 'the server to close the connection', timeoutMs = 5000): Promise<void> {
    await until(() => this.closed, what, timeoutMs);
  }
}
